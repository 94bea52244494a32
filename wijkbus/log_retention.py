"""Retention in the services' logs: receipts are kept a short while, everything else for good.

A receipt (`partners.<id>.receipts`) only answers a partner's event at the time; once published
and older than the term it is deleted from the log. Nothing else is ever deleted, and nothing
the relay has not published yet.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg

from contracts import topics
from wijkbus import db
from wijkbus.logging import get_logger
from wijkbus.outbox_log import logged_topics
from wijkbus.periodic import Periodic

log = get_logger(__name__)


async def prune_receipts(conn: asyncpg.Connection, schema: str, before: datetime) -> int:
    """Delete `schema`'s published receipt rows logged before `before`; return how many."""
    schema = db.checked_schema(schema)
    receipts = [t for t in await logged_topics(conn, schema) if topics.is_partner_receipts(t)]
    if not receipts:
        return 0
    status = await conn.execute(
        f"DELETE FROM {schema}.outbox WHERE topic = ANY($1::text[]) AND created_at < $2"
        f" AND id <= (SELECT published_id FROM {schema}.outbox_position)",
        receipts,
        before,
    )
    deleted = int(status.split()[-1])
    if deleted:
        log.info("receipts past their term deleted from the log", schema=schema, rows=deleted)
    return deleted


def receipts_retention(
    pool: asyncpg.Pool,
    schema: str,
    days: float,
    interval_s: float,
    clock: Callable[[], datetime],
) -> Periodic:
    """The background round that prunes receipts older than `days` every `interval_s`."""

    async def round_() -> int:
        async with pool.acquire() as conn:
            return await prune_receipts(conn, schema, clock() - timedelta(days=days))

    return Periodic(f"receipts-retention-{schema}", round_, interval_s)
