"""Republishing a service's log after the broker lost it (the embedded broker keeps nothing).

Every service keeps what it published in its outbox, so `republish` can send it again: in id
order, with the same keys, headers and values, so the events keep their CloudEvent ids and
every consumer's inbox skips what it already handled. `republish_lost` is what a service runs
at startup: the topics its log has published rows for but the broker holds nothing of (a new,
empty broker over a kept database) get their rows again before the relay goes on.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaProducer

from wijkbus import db
from wijkbus.logging import get_logger
from wijkbus.outbox_log import (
    LogSource,
    connection,
    log_count,
    logged_topics,
    published_id,
    topic_records,
)
from wijkbus.producing import start_producer
from wijkbus.relay import send_rows
from wijkbus.transport_security import KafkaSecurity

log = get_logger(__name__)


async def republish(
    source: LogSource,
    producer: AIOKafkaProducer,
    schema: str,
    since: int | None = None,
    *,
    topics: Sequence[str] | None = None,
    batch_size: int = 1000,
) -> int:
    """Send `schema`'s published log rows after id `since` (of `topics`, if given) again, in id
    order and as they were; return how many. Rows after the relay's position are its own."""
    schema = db.checked_schema(schema)
    after = since or 0
    sent = 0
    async with connection(source) as conn:
        end = await published_id(conn, schema)
        while True:
            rows = await conn.fetch(
                f"SELECT id, topic, key, value, headers FROM {schema}.outbox"
                " WHERE id > $1 AND id <= $2 AND ($3::text[] IS NULL OR topic = ANY($3::text[]))"
                " AND value IS NOT NULL"
                " ORDER BY id LIMIT $4",
                after,
                end,
                list(topics) if topics is not None else None,
                batch_size,
            )
            if not rows:
                return sent
            await send_rows(producer, rows)
            sent += len(rows)
            after = rows[-1]["id"]


async def republish_lost(
    source: LogSource,
    producer: AIOKafkaProducer,
    bootstrap: str,
    schema: str,
    *,
    security: KafkaSecurity | None = None,
) -> dict[str, int]:
    """Republish the log's rows of every topic the broker holds nothing of; return, per topic
    republished, how many rows went out. One instance per schema at a time (advisory lock)."""
    lock = f"wijkbus.republish:{db.checked_schema(schema)}"
    async with connection(source) as conn:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", lock)
        try:
            logged = await logged_topics(conn, schema)
            on_broker = await topic_records(bootstrap, logged, security) if logged else {}
            # Empty from offset 0: a new broker, not retention (that leaves offsets behind).
            lost = {
                t: await log_count(conn, schema, t)
                for t, held in on_broker.items()
                if held == (0, 0)
            }
            lost = {t: n for t, n in lost.items() if n > 0}
            if lost:
                sent = await republish(conn, producer, schema, topics=list(lost))
                log.info(
                    "republished the log to a broker that lost it",
                    schema=schema,
                    topics=sorted(lost),
                    events=sent,
                )
            return lost
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock)


async def republish_services(
    database_url: str, bootstrap: str, schemas: Sequence[str], since: int | None = None
) -> dict[str, int]:
    """Republish the logs of `schemas` (services without one yet are left out); per schema,
    how many rows went out."""
    conn = await asyncpg.connect(database_url)
    producer = await start_producer(bootstrap, linger_ms=5)
    try:
        sent = {}
        for schema in schemas:
            if await conn.fetchval("SELECT to_regclass($1)", f"{schema}.outbox_position"):
                sent[schema] = await republish(conn, producer, schema, since)
        return sent
    finally:
        await producer.stop()
        await conn.close()
