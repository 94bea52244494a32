"""Consumers with exactly-once effects: handle in one transaction, commit the offset after it.

A message is handled inside a PostgreSQL transaction together with its inbox row; the Kafka
offset is committed only after that transaction committed (faststream `AckPolicy.MANUAL`).
A failing message is retried with backoff (seek back); after `max_attempts`, or at once when it
can never succeed, it becomes a dead letter with its reason and the partition moves on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from contracts import topics
from contracts.envelope import CloudEvent, parse_event
from wijkbus import inbox, metrics, outbox
from wijkbus.logging import bound, get_logger

log = get_logger(__name__)


class PermanentError(Exception):
    """Input that can never be handled: dead-letter it at once, with this message as reason."""


@dataclass(frozen=True)
class Delivery:
    """One Kafka record as a handler sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes] = field(default_factory=dict)
    timestamp: int = 0

    @property
    def position(self) -> str:
        """`topic:partition:offset`: where the record is on this broker."""
        return f"{self.topic}:{self.partition}:{self.offset}"

    @property
    def record_id(self) -> str:
        """The record's identity: its position, producer timestamp and content.

        Position alone is not enough: after the in-memory broker restarts, offsets begin at
        zero again while the database (and its inbox) is kept.
        """
        digest = hashlib.sha256(self.value).hexdigest()[:32]
        return f"{self.position}:{self.timestamp}:{digest}"


EventHandler = Callable[[asyncpg.Connection, CloudEvent], Awaitable[None]]
RawHandler = Callable[[asyncpg.Connection, Delivery], Awaitable[None]]
BatchHandler = Callable[[asyncpg.Connection, list[Delivery]], Awaitable[None]]
BatchEventHandler = Callable[[asyncpg.Connection, list[CloudEvent]], Awaitable[None]]


@dataclass
class ConsumerKit:
    """What the subscribe functions need from the service runtime."""

    service: str
    pool: Callable[[], asyncpg.Pool]
    max_attempts: int = 5
    backoff_s: float = 0.2
    session_timeout_ms: int = 6000
    max_batch: int = 500
    group_prefix: str = ""
    redacted: set[str] = field(default_factory=set)
    attempts: dict[str, int] = field(default_factory=dict)

    async def run_batch(
        self,
        consumer: str,
        deliveries: list[Delivery],
        work: RawHandler,
        work_many: BatchHandler | None = None,
    ) -> bool:
        """Handle a fetched batch; True when all its offsets may be committed.

        Records of different partitions are independent (order only holds within a partition),
        so each partition's share is handled concurrently in a transaction of its own.
        """
        by_partition: dict[tuple[str, int], list[Delivery]] = {}
        for delivery in deliveries:
            by_partition.setdefault((delivery.topic, delivery.partition), []).append(delivery)
        results = await asyncio.gather(
            *(
                self._run_partition(consumer, share, work, work_many)
                for share in by_partition.values()
            )
        )
        return all(results)

    async def _run_partition(
        self,
        consumer: str,
        deliveries: list[Delivery],
        work: RawHandler,
        work_many: BatchHandler | None,
    ) -> bool:
        """One partition's records in one transaction; on any failure, one record at a time.

        The fallback means one bad record never holds back (or takes down) the good ones around
        it: they are committed on their own, and the bad one is retried or dead-lettered.
        """
        if len(deliveries) > 1:
            try:
                async with self.pool().acquire() as conn, conn.transaction():
                    if work_many is not None:
                        await work_many(conn, deliveries)
                    else:
                        for delivery in deliveries:
                            await work(conn, delivery)
            except Exception as exc:
                log.info(
                    "batch failed, handling records one by one",
                    consumer=consumer,
                    size=len(deliveries),
                    error=_reason(exc),
                )
            else:
                metrics.EVENTS_CONSUMED.labels(self.service, consumer, "handled").inc(
                    len(deliveries)
                )
                return True
        for delivery in deliveries:
            if not await self.run(consumer, delivery, work):
                return False
        return True

    async def run(self, consumer: str, delivery: Delivery, work: RawHandler) -> bool:
        """Handle one delivery in its own transaction; True when its offset may be committed."""
        attempt = self.attempts.get(delivery.position, 0) + 1
        try:
            async with self.pool().acquire() as conn, conn.transaction():
                await work(conn, delivery)
        except (PermanentError, ValidationError) as exc:
            await self._dead_letter(consumer, delivery, _reason(exc), attempt)
        except Exception as exc:
            metrics.PROCESSING_ERRORS.labels(self.service, consumer).inc()
            if attempt < self.max_attempts:
                self.attempts[delivery.position] = attempt
                log.warning(
                    "handling failed, will retry",
                    consumer=consumer,
                    attempt=attempt,
                    error=_reason(exc),
                )
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
                return False
            await self._dead_letter(consumer, delivery, _reason(exc), attempt)
        else:
            metrics.EVENTS_CONSUMED.labels(self.service, consumer, "handled").inc()
        self.attempts.pop(delivery.position, None)
        return True

    async def _dead_letter(
        self, consumer: str, delivery: Delivery, reason: str, attempts: int
    ) -> None:
        log.error("dead letter", consumer=consumer, position=delivery.position, reason=reason)
        metrics.DEAD_LETTERS.labels(self.service, consumer).inc()
        value = delivery.value
        if consumer in self.redacted:
            # Partner input may carry personal data in clear: keep its fingerprint, not its body.
            value = json.dumps(
                {"redacted": True, "bytes": len(value), "sha256": hashlib.sha256(value).hexdigest()}
            ).encode()
        async with self.pool().acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                "INSERT INTO dead_letters"
                ' (consumer, topic, "partition", "offset", key, value, reason, attempts)'
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ' ON CONFLICT (consumer, topic, "partition", "offset") DO NOTHING RETURNING id',
                consumer,
                delivery.topic,
                delivery.partition,
                delivery.offset,
                delivery.key,
                value,
                reason,
                attempts,
            )
            if inserted is not None:
                await outbox.enqueue(
                    conn,
                    outbox.OutgoingMessage(
                        topic=topics.dead_letters(self.service),
                        key=delivery.key.decode(errors="replace") if delivery.key else None,
                        value=value,
                        headers=(
                            ("wijkbus-consumer", consumer),
                            ("wijkbus-origin", delivery.position),
                            ("wijkbus-reason", reason[:500]),
                        ),
                    ),
                )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, PermanentError):
        return str(exc)[:2000]
    if isinstance(exc, ValidationError):
        return "invalid: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
    return f"{type(exc).__name__}: {exc}"[:2000]


def subscribe_raw(
    broker: KafkaBroker,
    kit: ConsumerKit,
    consumer: str,
    topic_names: list[str],
    handle: RawHandler,
    *,
    pattern: str | None = None,
    handle_many: BatchHandler | None = None,
    redact_dead_letters: bool = False,
) -> None:
    """Register `handle` for raw records; the inbox key is the record's `record_id`.

    With `handle_many`, a batch is claimed in the inbox and handled in one call (the fast path);
    `handle` still takes the records one by one when a batch fails.
    """

    if redact_dead_letters:
        kit.redacted.add(consumer)

    async def work(conn: asyncpg.Connection, delivery: Delivery) -> None:
        if await inbox.claim(conn, consumer, delivery.record_id):
            await handle(conn, delivery)

    async def work_many(conn: asyncpg.Connection, deliveries: list[Delivery]) -> None:
        new = await inbox.claim_many(conn, consumer, [d.record_id for d in deliveries])
        await handle_many(conn, [d for d in deliveries if d.record_id in new])  # type: ignore[misc]

    _register(
        broker,
        kit,
        consumer,
        topic_names,
        work,
        pattern=pattern,
        work_many=work_many if handle_many else None,
    )


def subscribe_events(
    broker: KafkaBroker,
    kit: ConsumerKit,
    consumer: str,
    topic_names: list[str],
    handle: EventHandler,
    *,
    handle_many: BatchEventHandler | None = None,
) -> None:
    """Register `handle` for CloudEvents; the inbox key is the event id, so replays are no-ops.

    With `handle_many`, a partition's batch is claimed in the inbox at once and its new events
    are handled in one call, in record order (the fast path); when anything in the batch fails,
    `handle` takes the records one by one, so a bad record is dead-lettered on its own.
    """

    async def work(conn: asyncpg.Connection, delivery: Delivery) -> None:
        event = _parse(delivery)
        with bound(event_id=event.id, trace_id=_trace_id(event)):
            if await inbox.claim(conn, consumer, inbox.event_key(event)):
                await handle(conn, event)

    async def work_many(conn: asyncpg.Connection, deliveries: list[Delivery]) -> None:
        events = [_parse(delivery) for delivery in deliveries]
        await handle_many(conn, await inbox.claim_events(conn, consumer, events))  # type: ignore[misc]

    _register(
        broker, kit, consumer, topic_names, work, work_many=work_many if handle_many else None
    )


def _parse(delivery: Delivery) -> CloudEvent:
    try:
        return parse_event(delivery.value)
    except ValidationError as exc:
        raise PermanentError("not a CloudEvent: " + _reason(exc)) from exc


def _trace_id(event: CloudEvent) -> str | None:
    extra = event.model_extra or {}
    return str(extra.get("traceparent") or "") or None


def _register(
    broker: KafkaBroker,
    kit: ConsumerKit,
    consumer: str,
    topic_names: list[str],
    work: RawHandler,
    *,
    pattern: str | None = None,
    work_many: BatchHandler | None = None,
) -> None:
    @broker.subscriber(
        *topic_names,
        pattern=pattern,
        batch=True,
        max_records=kit.max_batch,
        group_id=f"{kit.group_prefix or kit.service}.{consumer}",
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        session_timeout_ms=kit.session_timeout_ms,
        heartbeat_interval_ms=max(kit.session_timeout_ms // 6, 100),
        title=f"{kit.service}.{consumer}",
    )
    async def on_messages(msg: KafkaMessage) -> None:
        records = msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
        deliveries = [
            Delivery(
                topic=r.topic,
                partition=r.partition,
                offset=r.offset,
                key=r.key,
                value=r.value or b"",
                headers={k: v for k, v in (r.headers or ())},
            )
            for r in records
        ]
        # A partial success is safe to redeliver whole: the inbox skips what was done.
        if await kit.run_batch(consumer, deliveries, work, work_many):
            await msg.ack()
        else:
            await msg.nack()
