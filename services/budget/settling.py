"""Initiatives whose deadline passed are settled in the background: funded or not funded."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from services.budget.closing import settle
from services.budget.handlers import Budget
from wijkbus.logging import get_logger

log = get_logger(__name__)


class DeadlineSettler:
    """Every `interval_s`, settles the open years' initiatives that are past their deadline."""

    def __init__(self, budget: Budget, pool: asyncpg.Pool, interval_s: float) -> None:
        self._budget = budget
        self._pool = pool
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run in the background."""
        self._task = asyncio.create_task(self._run(), name="budget-deadlines")

    async def stop(self) -> None:
        """Stop; what is due is settled at the next start."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def settle_due(self) -> int:
        """Settle every initiative past its deadline in every open year; how many were settled."""
        settled = 0
        async with self._pool.acquire() as conn:
            years = await conn.fetch("SELECT municipality, year FROM years WHERE status = 'open'")
            for y in years:
                funded, not_funded = await settle(
                    self._budget, conn, y["municipality"], y["year"], all_open=False
                )
                settled += funded + not_funded
        return settled

    async def _run(self) -> None:
        while True:
            try:
                await self.settle_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # retried at the next tick; never silent
                log.warning("settling deadlines failed, retrying", error=repr(exc))
            await asyncio.sleep(self._interval)
