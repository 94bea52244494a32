"""Retention: delivery attempts older than the configured days, feed items older than the
configured hours, are deleted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg

from services.notify import feed
from wijkbus.logging import get_logger
from wijkbus.periodic import Periodic

log = get_logger(__name__)
_BATCH = 5000  # rows per statement, so a large backlog never holds one long lock


async def delete_attempts_before(conn: asyncpg.Connection, cutoff: datetime) -> int:
    """Delete delivery attempts logged before `cutoff`; how many were deleted."""
    deleted = 0
    while True:
        result = await conn.execute(
            "DELETE FROM delivery_attempts WHERE id IN ("
            " SELECT id FROM delivery_attempts WHERE at < $1 LIMIT $2)",
            cutoff,
            _BATCH,
        )
        count = int(result.split()[-1])
        deleted += count
        if count < _BATCH:
            return deleted


class Retention:
    """Runs `sweep()` every `interval_s` seconds from `start()` until `stop()`."""

    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        *,
        days: int,
        interval_s: float,
        clock: Callable[[], datetime],
        feed_hours: int = 24,
    ) -> None:
        self._pool, self._keep, self._clock = pool, timedelta(days=days), clock
        self._feed_keep = timedelta(hours=feed_hours)
        self._periodic = Periodic("notify-retention", self.sweep, interval_s)

    async def sweep(self) -> int:
        """Delete what is older than the retention period now (by the injected clock)."""
        async with self._pool().acquire() as conn:
            deleted = await delete_attempts_before(conn, self._clock() - self._keep)
            await feed.delete_before(conn, self._clock() - self._feed_keep)
        if deleted:
            log.info("delivery log trimmed", deleted=deleted, keep_days=self._keep.days)
        return deleted

    async def start(self) -> None:
        """Start the periodic sweep (the first one right away)."""
        self._periodic.start()

    async def stop(self) -> None:
        """Stop sweeping."""
        await self._periodic.stop()
