"""The background task that fires overdue escalation timers and picks up new rule sets.

Timers live in PostgreSQL, so they survive restarts; each due row is taken under
FOR UPDATE SKIP LOCKED and moved or deleted in the same transaction as the outbox event,
so a timer fires exactly once however many instances run.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from services.routing.handlers import Routing
from wijkbus.periodic import Periodic


class Escalator:
    """Polls for due timers every `interval_s` seconds while the service runs."""

    def __init__(
        self, pool: Callable[[], asyncpg.Pool], routing: Routing, interval_s: float
    ) -> None:
        self._pool = pool
        self._routing = routing
        # A lost connection or a deadlock victim fails a round: the timers stay due until the next.
        self._periodic = Periodic("routing-escalator", self._round, interval_s)

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
        self._periodic.start()

    async def stop(self) -> None:
        """Stop polling; a transaction in flight rolls back and its timers stay due."""
        await self._periodic.stop()

    async def _round(self) -> None:
        async with self._pool().acquire() as conn:
            await self._routing.refresh(conn)
        await self.fire_due()
