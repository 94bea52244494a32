"""Reading a service's log (its outbox) as history: records shaped like the topics' records.

A replay whose input topic starts later than the log, or is empty after a broker loss, can take
its input from the publishing service's log table in the same database instead: `log_batches`
yields what the relay published, in log order, as the processors' `Delivery` records (partition
0, the log id as offset), so it is a source for `Replay.run` like the topics are.
`topic_reaches_back` says which of the two a replay should read.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TypeAlias

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from wijkbus import db
from wijkbus.processor import Delivery
from wijkbus.replaying import end_offsets
from wijkbus.transport_security import KafkaSecurity, client_options

LogSource: TypeAlias = asyncpg.Pool | asyncpg.Connection

_TOPICS = (
    "WITH RECURSIVE t AS ("
    " (SELECT topic FROM {schema}.outbox ORDER BY topic LIMIT 1)"
    " UNION ALL SELECT (SELECT o.topic FROM {schema}.outbox o WHERE o.topic > t.topic"
    " ORDER BY o.topic LIMIT 1) FROM t WHERE t.topic IS NOT NULL)"
    " SELECT topic FROM t WHERE topic IS NOT NULL"
)


@asynccontextmanager
async def connection(source: LogSource) -> AsyncIterator[asyncpg.Connection]:
    """A connection from a pool, or the connection given."""
    if isinstance(source, asyncpg.Pool):
        async with source.acquire() as conn:
            yield conn
    else:
        yield source


async def published_id(conn: asyncpg.Connection, schema: str) -> int:
    """The relay's position in `schema`: every log row up to it has been published."""
    return int(
        await conn.fetchval(f"SELECT published_id FROM {db.checked_schema(schema)}.outbox_position")
    )


async def logged_topics(conn: asyncpg.Connection, schema: str) -> list[str]:
    """The topics `schema`'s log has rows for (a skip scan of the topic index)."""
    rows = await conn.fetch(_TOPICS.format(schema=db.checked_schema(schema)))
    return [r["topic"] for r in rows]


async def log_count(conn: asyncpg.Connection, schema: str, topic: str) -> int:
    """How many published rows of `topic` the log of `schema` holds."""
    schema = db.checked_schema(schema)
    return int(
        await conn.fetchval(
            f"SELECT count(*) FROM {schema}.outbox WHERE topic = $1 AND value IS NOT NULL"
            f" AND id <= (SELECT published_id FROM {schema}.outbox_position)",
            topic,
        )
    )


def to_delivery(row: asyncpg.Record) -> Delivery:
    """One log row as the record a consumer of its topic would have read."""
    return Delivery(
        topic=row["topic"],
        partition=0,
        offset=row["id"],
        key=bytes(row["key"]) if row["key"] is not None else None,
        value=bytes(row["value"]),
        headers={k: v.encode() for k, v in json.loads(row["headers"])},
        timestamp=int(row["created_at"].timestamp() * 1000),
    )


async def log_batches(
    source: LogSource,
    schema: str,
    topics: Sequence[str],
    *,
    since: int = 0,
    batch_size: int = 5000,
) -> AsyncIterator[list[Delivery]]:
    """The published rows of `topics` in `schema`'s log after id `since`, oldest first, in
    batches; up to the position the relay had when reading began (what the topics got)."""
    schema = db.checked_schema(schema)
    async with connection(source) as conn:
        end = await published_id(conn, schema)
        while True:
            rows = await conn.fetch(
                f"SELECT id, topic, key, value, headers, created_at FROM {schema}.outbox"
                " WHERE topic = ANY($1::text[]) AND id > $2 AND id <= $3 AND value IS NOT NULL"
                " ORDER BY id LIMIT $4",
                list(topics),
                since,
                end,
                batch_size,
            )
            if rows:
                yield [to_delivery(r) for r in rows]
            if len(rows) < batch_size:
                return
            since = rows[-1]["id"]


async def topic_records(
    bootstrap: str, topics: Sequence[str], security: KafkaSecurity | None = None
) -> dict[str, tuple[int, int]]:
    """Per topic on the broker: (earliest offset summed over partitions, records it holds)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **client_options(security)
    )
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return {topic: (0, 0) for topic in topics}
        starts = await consumer.beginning_offsets(partitions)
        ends = await end_offsets(consumer, partitions)
    finally:
        await consumer.stop()
    found = {topic: (0, 0) for topic in topics}
    for tp in partitions:
        first, held = found[tp.topic]
        found[tp.topic] = (first + starts[tp], held + ends[tp] - starts[tp])
    return found


async def topic_reaches_back(bootstrap: str, topic: str, log_count: int) -> bool:
    """Whether `topic` still holds its whole history: it starts at offset 0 and has at least
    the `log_count` records the publishing service's log has for it."""
    first, held = (await topic_records(bootstrap, [topic]))[topic]
    return first == 0 and held >= log_count
