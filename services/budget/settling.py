"""Initiatives whose deadline passed are settled in the background: funded or not funded."""

from __future__ import annotations

import asyncpg

from services.budget.closing import settle
from services.budget.handlers import Budget
from wijkbus.periodic import Periodic


class DeadlineSettler:
    """Every `interval_s`, settles the open years' initiatives that are past their deadline."""

    def __init__(self, budget: Budget, pool: asyncpg.Pool, interval_s: float) -> None:
        self._budget = budget
        self._pool = pool
        self._periodic = Periodic("budget-deadlines", self.settle_due, interval_s)

    def start(self) -> None:
        """Run in the background."""
        self._periodic.start()

    async def stop(self) -> None:
        """Stop; what is due is settled at the next start."""
        await self._periodic.stop()

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
