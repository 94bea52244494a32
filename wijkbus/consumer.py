"""The live source of the processors: a consumer group, with exactly-once effects.

A fetched batch is split per partition, and each partition's share goes through the one
`processor.process` in a PostgreSQL transaction together with its inbox claims; the Kafka
offsets are committed only after that (faststream `AckPolicy.MANUAL`). A record that fails on its
own is retried with backoff (the batch is redelivered from it; the inbox skips what was done);
after `max_attempts`, or at once when it can never succeed, it becomes a dead letter with its
reason and the partition moves on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from pydantic import ValidationError

from contracts import topics
from wijkbus import metrics, outbox, processor
from wijkbus.logging import get_logger
from wijkbus.processor import Delivery, Item, PermanentError, Processor, reason, shares

__all__ = ["ConsumerKit", "Delivery", "PermanentError", "subscribe"]

log = get_logger(__name__)


@dataclass
class ConsumerKit:
    """The live policy: retries with backoff, then a dead letter with the reason."""

    service: str
    pool: Callable[[], asyncpg.Pool]
    max_attempts: int = 5
    backoff_s: float = 0.2
    session_timeout_ms: int = 6000
    max_batch: int = 1000
    fetch_max_wait_ms: int = 500
    group_prefix: str = ""
    attempts: dict[str, int] = field(default_factory=dict)
    # Per consumer: its faststream subscriber; the group's committed offsets (summed) as the
    # readiness check last saw them, and when they last moved (monotonic; wijkbus.readiness).
    subscribers: dict[str, Any] = field(default_factory=dict)
    committed: dict[str, int] = field(default_factory=dict)
    progress: dict[str, float] = field(default_factory=dict)

    async def run_batch(self, proc: Processor[Any], deliveries: list[Delivery]) -> bool:
        """Handle a fetched batch; True when all its offsets may be committed.

        Records of different partitions are independent (order only holds within a partition),
        so each partition's share is handled concurrently in a transaction of its own.
        """
        results = await asyncio.gather(
            *(processor.process(self.pool(), proc, share, self) for share in shares(deliveries))
        )
        return all(results)

    def admit(self, proc: Processor[Any], items: list[Item[Any]]) -> list[Item[Any]]:
        """Live handles every decoded record."""
        return items

    def handled(self, proc: Processor[Any], new: int, duplicates: int) -> None:
        """Count what was handled."""
        metrics.EVENTS_CONSUMED.labels(self.service, proc.name, "handled").inc(new)

    async def refuse(self, proc: Processor[Any], delivery: Delivery, why: str) -> None:
        """A record that can never be handled: a dead letter at once."""
        await self._dead_letter(proc, delivery, why, self.attempts.pop(delivery.position, 0) + 1)

    async def failed(self, proc: Processor[Any], item: Item[Any], exc: Exception) -> bool:
        """Retry a failed record with backoff; dead-letter it when it keeps failing."""
        position = item.delivery.position
        attempt = self.attempts.get(position, 0) + 1
        if not isinstance(exc, PermanentError | ValidationError):
            metrics.PROCESSING_ERRORS.labels(self.service, proc.name).inc()
            if attempt < self.max_attempts:
                self.attempts[position] = attempt
                log.warning(
                    "handling failed, will retry",
                    consumer=proc.name,
                    attempt=attempt,
                    error=reason(exc),
                )
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
                return False
        self.attempts.pop(position, None)
        await self._dead_letter(proc, item.delivery, reason(exc), attempt)
        return True

    async def _dead_letter(
        self, proc: Processor[Any], delivery: Delivery, why: str, attempts: int
    ) -> None:
        log.error("dead letter", consumer=proc.name, position=delivery.position, reason=why)
        metrics.DEAD_LETTERS.labels(self.service, proc.name).inc()
        value = delivery.value
        if proc.redact_dead_letters:
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
                proc.name,
                delivery.topic,
                delivery.partition,
                delivery.offset,
                delivery.key,
                value,
                why,
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
                            ("wijkbus-consumer", proc.name),
                            ("wijkbus-origin", delivery.position),
                            ("wijkbus-reason", why[:500]),
                        ),
                    ),
                )


async def _undecoded(message: StreamMessage[Any]) -> None:
    """faststream would parse every record of a batch as JSON for a body argument the handler
    does not take; the processor decodes each record once itself."""
    return None


def subscribe(broker: KafkaBroker, kit: ConsumerKit, proc: Processor[Any]) -> None:
    """Feed `proc` from a consumer group of its own (`<service>.<name>`), in fetched batches."""

    subscriber = broker.subscriber(
        *proc.topics,
        pattern=proc.pattern,
        batch=True,
        max_records=kit.max_batch,
        max_partition_fetch_bytes=4 * 1024 * 1024,  # a full batch of ~800-byte events
        fetch_max_wait_ms=kit.fetch_max_wait_ms,
        group_id=f"{kit.group_prefix or kit.service}.{proc.name}",
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        session_timeout_ms=kit.session_timeout_ms,
        heartbeat_interval_ms=max(kit.session_timeout_ms // 6, 100),
        title=f"{kit.service}.{proc.name}",
        decoder=_undecoded,
    )
    kit.subscribers[proc.name] = subscriber

    @subscriber
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
        if await kit.run_batch(proc, deliveries):
            await msg.ack()
        else:
            await msg.nack()
