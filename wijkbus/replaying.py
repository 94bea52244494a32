"""What every service's replay shares: reading topics from offset 0 without disturbing anyone,
the replay's clock, its tally, and a difference between the live and the rebuilt state.

A service's `replay` module rebuilds its projection into a scratch schema with its own live
handlers (`rebuild`) and then compares (`compare`); `wijkbus replay SERVICE` drives both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from contracts.envelope import CloudEvent, parse_event
from wijkbus import db, inbox

Progress = Callable[[int, int], None]


@dataclass
class ReplayClock:
    """The time of the record being replayed."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rebuilt:
    """What a replay read and handled."""

    read: int = 0
    handled: int = 0
    after_until: int = 0
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Difference:
    """One row where the live projection and the replay disagree."""

    table: str
    key: str
    live: object
    replay: object


@asynccontextmanager
async def scratch(
    database_url: str, into: str, migrations: Path, live_schema: str
) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the scratch schema `into`, migrated; refused when it is the live schema or a
    replay already went into it."""
    if into == live_schema:
        raise ValueError(f"schema {into} is the live schema: replay into a new schema")
    await db.migrate_url(database_url, into, migrations)
    pool = await db.create_pool(database_url, into, max_size=2)
    try:
        if await pool.fetchval("SELECT count(*) FROM inbox"):
            raise ValueError(f"schema {into} is not empty: replay into a new schema")
        yield pool
    finally:
        await pool.close()


async def batches(
    bootstrap: str, inputs: Sequence[str], progress: Progress | None = None
) -> AsyncIterator[list[ConsumerRecord[bytes, bytes]]]:
    """Every record of `inputs` in fetched batches (one partition each), topic after topic, from
    offset 0 to the end each partition had when the replay began. No consumer group: live
    consumers are not disturbed."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        await consumer.topics()
        # Every partition first: once assigned, the consumer's metadata covers only those topics.
        partitions = [
            TopicPartition(topic, p)
            for topic in inputs
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        ends = await end_offsets(consumer, partitions) if partitions else {}
        total, read = sum(ends.values()), 0
        for topic in inputs:
            mine = [tp for tp in ends if tp.topic == topic and ends[tp] > 0]
            if not mine:
                continue
            consumer.assign(mine)
            await consumer.seek_to_beginning(*mine)
            open_ = set(mine)
            while open_:
                fetched = await consumer.getmany(*open_, timeout_ms=1000, max_records=5000)
                for tp, got in fetched.items():
                    wanted = [r for r in got if r.offset < ends[tp]]
                    if wanted:
                        read += len(wanted)
                        yield wanted
                    if await consumer.position(tp) >= ends[tp]:
                        open_.discard(tp)
                if progress:
                    progress(read, total)
    finally:
        await consumer.stop()


async def records(
    bootstrap: str, inputs: Sequence[str], progress: Progress | None = None
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record of `inputs`, one at a time (see `batches`)."""
    async for batch in batches(bootstrap, inputs, progress):
        for record in batch:
            yield record


async def end_offsets(
    consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    """The offset after the last record of each partition (the consumer is left assigned to
    the non-empty ones).

    Tansu, the embedded broker, answers ListOffsets(latest) with the base offset of the
    partition's last record batch plus one: short by the rest of the batch when a producer sent
    several records at once. Reading from there returns that whole batch, whose last record
    gives the true end. Against Kafka, which answers exactly, this reads one record and agrees.
    """
    ends = dict(await consumer.end_offsets(list(partitions)))
    pending = [tp for tp, end in ends.items() if end > 0]
    if not pending:
        return ends
    consumer.assign(pending)
    for tp in pending:
        consumer.seek(tp, ends[tp] - 1)
    for _ in range(20):  # a fetch normally answers at once; give up after ten seconds
        batch = await consumer.getmany(*pending, timeout_ms=500)
        for tp, got in batch.items():
            if got:
                ends[tp] = max(ends[tp], got[-1].offset + 1)
                pending.remove(tp)
        if not pending:
            break
    return ends


Handle = Callable[[asyncpg.Connection, CloudEvent], object]


async def handle_once(
    pool: asyncpg.Pool,
    consumer_name: str,
    handle: Handle,
    value: bytes | None,
    clock: ReplayClock,
    until: datetime | None,
    done: Rebuilt,
) -> None:
    """Hand one record to `handle` in its own transaction, once per CloudEvent (the scratch
    schema's inbox), with the clock at the event's time; refusals are tallied, not raised."""
    done.read += 1
    try:
        event = parse_event(value or b"")
    except ValueError as exc:
        done.refused.append(f"{consumer_name}: not a CloudEvent ({exc})")
        return
    at = event.time or clock.now
    if until is not None and at > until:
        done.after_until += 1
        return
    clock.now = at
    async with pool.acquire() as conn, conn.transaction():
        if not await inbox.claim(conn, consumer_name, inbox.event_key(event)):
            done.duplicates += 1
            return
        try:
            async with conn.transaction():  # a savepoint: a refused record leaves no trace
                await handle(conn, event)  # type: ignore[misc]
        except Exception as exc:
            done.refused.append(f"{consumer_name} {event.id}: {exc}")
            return
        done.handled += 1


HandleMany = Callable[[asyncpg.Connection, list[CloudEvent]], object]


async def handle_batch(
    pool: asyncpg.Pool,
    consumer_name: str,
    handle_many: HandleMany,
    handle: Handle,
    values: Sequence[bytes | None],
    clock: ReplayClock,
    until: datetime | None,
    done: Rebuilt,
) -> None:
    """Hand a fetched batch to `handle_many` in one transaction, each CloudEvent once, with the
    clock at the batch's latest event time (as a live batch is handled at one moment). When the
    batch fails, it is handled one by one, so a bad record is refused on its own."""
    try:
        parsed = [parse_event(value or b"") for value in values]
    except ValueError:
        return await _one_by_one(pool, consumer_name, handle, values, clock, until, done)
    kept = [e for e in parsed if until is None or (e.time or clock.now) <= until]
    new: list[CloudEvent] = []
    if kept:
        clock.now = max(e.time or clock.now for e in kept)
        try:
            async with pool.acquire() as conn, conn.transaction():
                new = await inbox.claim_events(conn, consumer_name, kept)
                await handle_many(conn, new)  # type: ignore[misc]
        except Exception:
            return await _one_by_one(pool, consumer_name, handle, values, clock, until, done)
    done.read += len(parsed)
    done.after_until += len(parsed) - len(kept)
    done.handled += len(new)
    done.duplicates += len(kept) - len(new)
    return None


async def _one_by_one(
    pool: asyncpg.Pool,
    consumer_name: str,
    handle: Handle,
    values: Sequence[bytes | None],
    clock: ReplayClock,
    until: datetime | None,
    done: Rebuilt,
) -> None:
    for value in values:
        await handle_once(pool, consumer_name, handle, value, clock, until, done)


def differences(
    table: str, live: dict[str, object], rebuilt: dict[str, object]
) -> list[Difference]:
    """Every key whose value differs between `live` and `rebuilt` (missing on one side too)."""
    return [
        Difference(table, key, live.get(key), rebuilt.get(key))
        for key in sorted(live.keys() | rebuilt.keys())
        if live.get(key) != rebuilt.get(key)
    ]
