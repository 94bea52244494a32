"""The outbox: events written in the handler's transaction, published afterwards by a relay."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer

from contracts.envelope import CONTENT_TYPE, CloudEvent, to_json_bytes
from wijkbus import metrics
from wijkbus.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    """One message for the bus: topic, key (the aggregate) and the value bytes."""

    topic: str
    key: str | None
    value: bytes
    headers: tuple[tuple[str, str], ...] = (("content-type", CONTENT_TYPE),)


def cloud_event_message(topic: str, key: str | None, event: CloudEvent) -> OutgoingMessage:
    """Wrap a CloudEvent as a structured-mode Kafka message."""
    return OutgoingMessage(topic=topic, key=key, value=to_json_bytes(event))


async def enqueue(conn: asyncpg.Connection, *messages: OutgoingMessage) -> None:
    """Add messages to the outbox inside the caller's transaction, in order (one statement)."""
    if not messages:
        return
    await conn.execute(
        "INSERT INTO outbox (topic, key, value, headers)"
        " SELECT topic, key, value, headers::jsonb FROM unnest($1::text[], $2::bytea[],"
        " $3::bytea[], $4::text[]) WITH ORDINALITY AS m(topic, key, value, headers, n) ORDER BY n",
        [m.topic for m in messages],
        [m.key.encode() if m.key is not None else None for m in messages],
        [m.value for m in messages],
        [json.dumps([list(h) for h in m.headers]) for m in messages],
    )


async def backlog(conn: asyncpg.Connection) -> int:
    """How many outbox messages wait to be published."""
    return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))


class OutboxRelay:
    """Publishes the outbox in id order (so in order per key) and marks rows sent.

    Only one relay per schema publishes at a time (a PostgreSQL advisory lock), so order
    per key holds even with several instances of a service. A NOTIFY wakes it; it also polls.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        schema: str,
        poll_interval_s: float = 1.0,
        batch_size: int = 500,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._schema = schema
        self._poll = poll_interval_s
        self._batch = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    def start(self) -> None:
        """Run the relay in the background."""
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._schema}")

    async def stop(self) -> None:
        """Stop the relay; unsent rows stay in the outbox for the next start."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                async with self._pool.acquire() as listener:
                    await self._lead(listener)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay failed, retrying", error=repr(exc))
                await asyncio.sleep(self._poll)

    async def _lead(self, listener: asyncpg.Connection) -> None:
        lock_key = f"outbox-relay:{self._schema}"
        # A standby relay polls for the lock; there is no event to wait for.
        while not await listener.fetchval(  # noqa: ASYNC110
            "SELECT pg_try_advisory_lock(hashtext($1))", lock_key
        ):
            await asyncio.sleep(self._poll)
        await listener.add_listener(f"{self._schema}_outbox", self._on_notify)
        try:
            while True:
                self._wake.clear()
                sent = await self.publish_pending()
                if sent < self._batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._poll)
        finally:
            await listener.remove_listener(f"{self._schema}_outbox", self._on_notify)
            await listener.execute("SELECT pg_advisory_unlock(hashtext($1))", lock_key)

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows; return how many were sent."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, topic, key, value, headers FROM outbox"
                " WHERE sent_at IS NULL ORDER BY id LIMIT $1",
                self._batch,
            )
            if not rows:
                metrics.OUTBOX_BACKLOG.labels(self._schema).set(0)
                return 0
            await self._send(rows)
            await conn.execute(
                "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])",
                [r["id"] for r in rows],
            )
            self.published += len(rows)
            metrics.OUTBOX_PUBLISHED.labels(self._schema).inc(len(rows))
            metrics.OUTBOX_BACKLOG.labels(self._schema).set(await backlog(conn))
            return len(rows)

    async def _send(self, rows: Sequence[asyncpg.Record]) -> None:
        # send() enqueues in order; aiokafka keeps one request in flight per partition,
        # so the order of rows with the same key is the order on the partition.
        futures = [
            await self._producer.send(
                r["topic"],
                value=bytes(r["value"]),
                key=bytes(r["key"]) if r["key"] is not None else None,
                headers=[(k, v.encode()) for k, v in json.loads(r["headers"])],
            )
            for r in rows
        ]
        await asyncio.gather(*futures)
