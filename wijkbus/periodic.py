"""Background work that runs every few seconds until the service stops (sealers, retention...)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from wijkbus.logging import get_logger

log = get_logger(__name__)


class Periodic:
    """Runs `work` now and then every `interval_s` seconds; a failed round is logged and retried."""

    def __init__(self, name: str, work: Callable[[], Awaitable[object]], interval_s: float) -> None:
        self.name = name
        self._work = work
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self._work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # retried at the next round; never silent
                log.warning("background round failed, retrying", task=self.name, error=repr(exc))
            await asyncio.sleep(self._interval_s)
