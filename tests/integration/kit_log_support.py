"""Helpers for the tests of the kit's log (outbox): a migrated schema, messages, reading topics."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from tests.support import unique
from wijkbus import db
from wijkbus.outbox import OutgoingMessage
from wijkbus.processor import Delivery

SOURCE = "urn:wijkbus:test"


@asynccontextmanager
async def log_pool(database_url: str, schema: str, tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    """A pool on `schema`, migrated with the kit's tables only."""
    empty = tmp_path / f"migrations-{schema}"
    empty.mkdir(exist_ok=True)
    await db.migrate_url(database_url, schema, empty)
    pool = await db.create_pool(database_url, schema, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def producing(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """A producer as the services use it (acks from all, no idempotence: Tansu has none)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


def message(topic: str, key: str, n: int, event_id: str | None = None) -> OutgoingMessage:
    """A CloudEvent-shaped message numbered `n`, with a header of its own."""
    value = {"specversion": "1.0", "id": event_id or unique("ev"), "source": SOURCE,
             "type": "nl.wijkaanpak.test", "data": {"n": n}}  # fmt: skip
    return OutgoingMessage(
        topic=topic,
        key=key,
        value=json.dumps(value).encode(),
        headers=(("content-type", "application/cloudevents+json"), ("n", str(n))),
    )


def shape(record: ConsumerRecord[bytes, bytes] | Delivery) -> tuple[object, ...]:
    """What republishing and the log must keep of a record: topic, key, value and headers."""
    headers = record.headers.items() if isinstance(record.headers, dict) else record.headers
    return record.topic, record.key, record.value, [(k, bytes(v)) for k, v in headers]


def sent_shape(m: OutgoingMessage) -> tuple[object, ...]:
    """The `shape` of the record a message becomes."""
    key = m.key.encode() if m.key is not None else None
    return m.topic, key, m.value, [(k, v.encode()) for k, v in m.headers]


async def read_all(
    bootstrap: str, topics: list[str], *, count: int, settle: float = 1.0, timeout: float = 30.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topics` from the start (no group): at least `count`, then whatever else
    arrives within `settle` seconds (so a test sees a record sent twice)."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found.extend(records)
        await asyncio.sleep(settle)
        for records in (await consumer.getmany(timeout_ms=300)).values():
            found.extend(records)
    finally:
        await consumer.stop()
    return sorted(found, key=lambda r: (r.topic, r.partition, r.offset))


async def backlog(pool: asyncpg.Pool) -> int:
    """Rows above the relay's position."""
    return int(await pool.fetchval("SELECT count(*) FROM outbox_backlog"))
