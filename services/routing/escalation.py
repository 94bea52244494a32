"""The background task that fires overdue escalation timers and picks up new rule sets.

Timers live in PostgreSQL, so they survive restarts; each due row is taken under
FOR UPDATE SKIP LOCKED and moved or deleted in the same transaction as the outbox event,
so a timer fires exactly once however many instances run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg

from services.routing.handlers import Routing
from wijkbus.logging import get_logger

log = get_logger(__name__)


class Escalator:
    """Polls for due timers every `interval_s` seconds while the service runs."""

    def __init__(
        self, pool: Callable[[], asyncpg.Pool], routing: Routing, interval_s: float
    ) -> None:
        self._pool = pool
        self._routing = routing
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def fire_due(self) -> int:
        """Escalate what is due now, in batches of one transaction each; how many fired."""
        fired = 0
        while True:
            async with self._pool().acquire() as conn, conn.transaction():
                count = await self._routing.escalate_due(conn)
            fired += count
            if count == 0:
                return fired

    async def start(self) -> None:
        """Start polling in the background."""
        self._task = asyncio.create_task(self._run(), name="routing-escalator")

    async def stop(self) -> None:
        """Stop polling; a transaction in flight rolls back and its timers stay due."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                async with self._pool().acquire() as conn:
                    await self._routing.refresh(conn)
                await self.fire_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A lost connection or a deadlock victim: the timers stay due, try again later.
                log.warning("escalation round failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self._interval_s)
