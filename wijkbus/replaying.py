"""What every service's replay shares: reading topics from offset 0 without disturbing anyone,
the replay's clock, its tally, and a difference between the live and the rebuilt state.

A service's `replay` module rebuilds its projection into a scratch schema with the same processors
live runs (`rebuild`: `Replay.run` is the replay's source and policy around `processor.process`)
and then compares (`compare`); `wijkbus replay SERVICE` drives both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from wijkbus import db
from wijkbus.processor import Delivery, Item, Processor, process, reason, shares
from wijkbus.transport_security import client_options

Progress = Callable[[int, int], None]


class ReplayStalled(RuntimeError):
    """A partition stopped moving before it reached the end it had when the replay began."""


_SHARE_TIME: ContextVar[tuple[int, datetime] | None] = ContextVar("replay_share_time", default=None)


@dataclass
class ReplayClock:
    """The time of the records being replayed: each partition's share is handled at its own
    latest time, also while the shares of one fetch are handled side by side (`at_share`)."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        share = _SHARE_TIME.get()
        return share[1] if share is not None and share[0] == id(self) else self.now

    def at_share(self, at: datetime) -> None:
        """Move the clock to `at` for the share being handled (in its task) and outside it."""
        _SHARE_TIME.set((id(self), at))
        self.now = at


@dataclass
class Rebuilt:
    """What a replay read and handled."""

    read: int = 0
    handled: int = 0
    after_until: int = 0
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)
    handled_by: dict[str, int] = field(default_factory=dict)  # per processor


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
    bootstrap: str,
    inputs: Sequence[str],
    progress: Progress | None = None,
    *,
    stall_s: float = 60.0,
) -> AsyncIterator[list[Delivery]]:
    """Every record of `inputs` in fetched batches (of one topic, several partitions, as live
    fetches them), topic after topic, from offset 0 to the end each partition had when the
    replay began. No consumer group: live
    consumers are not disturbed. A partition that does not move for `stall_s` (a broker that
    lost records, or went away) ends the replay with `ReplayStalled`, naming it."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        **client_options(),
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
            moved = time.monotonic()
            while open_:
                fetched = await consumer.getmany(*open_, timeout_ms=1000, max_records=5000)
                wanted = [
                    _delivery(r) for tp, got in fetched.items() for r in got if r.offset < ends[tp]
                ]
                for tp in fetched:
                    if await consumer.position(tp) >= ends[tp]:
                        open_.discard(tp)
                if wanted:
                    read += len(wanted)
                    yield wanted
                if fetched:
                    moved = time.monotonic()
                elif time.monotonic() - moved > stall_s:
                    raise ReplayStalled(await _stalled(consumer, open_, ends, stall_s))
                if progress:
                    progress(read, total)
    finally:
        await consumer.stop()


async def _stalled(
    consumer: AIOKafkaConsumer,
    open_: set[TopicPartition],
    ends: dict[TopicPartition, int],
    s: float,
) -> str:
    at = {tp: await consumer.position(tp) for tp in sorted(open_)}
    where = ", ".join(f"{tp.topic}[{tp.partition}] at offset {at[tp]} of {ends[tp]}" for tp in at)
    return f"the replay stalled: no record for {s:.0f}s from {where} (did the broker lose them?)"


def _delivery(r: ConsumerRecord[bytes, bytes]) -> Delivery:
    return Delivery(r.topic, r.partition, r.offset, r.key, r.value or b"", dict(r.headers or ()))


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


@dataclass
class Replay:
    """The replay policy: `--until` and the replay clock, and a tally in place of retries.

    A share is handled at the latest time of its events (as live handles a fetched batch at one
    moment), so windows, deadlines and thresholds are judged as they were, to within one batch.
    """

    clock: ReplayClock = field(default_factory=ReplayClock)
    until: datetime | None = None
    done: Rebuilt = field(default_factory=Rebuilt)

    def admit(self, proc: Processor[Any], items: list[Item[Any]]) -> list[Item[Any]]:
        """The items up to `--until`; the clock moves to the latest of them."""
        now = self.clock()
        kept = [i for i in items if self.until is None or (i.at or now) <= self.until]
        self.done.read += len(items)
        self.done.after_until += len(items) - len(kept)
        if kept:
            self.clock.at_share(max(i.at or now for i in kept))
        return kept

    async def refuse(self, proc: Processor[Any], delivery: Delivery, why: str) -> None:
        """An undecodable record is read and refused."""
        self.done.read += 1
        self.done.refused.append(f"{proc.name}: {why} (at {delivery.position})")

    async def failed(self, proc: Processor[Any], item: Item[Any], exc: Exception) -> bool:
        """A record that fails on its own is refused, and the replay goes on."""
        self.done.refused.append(f"{proc.name} {item.key}: {reason(exc)}")
        return True

    def handled(self, proc: Processor[Any], new: int, duplicates: int) -> None:
        """Count what was handled and what the scratch inbox knew already."""
        self.done.handled += new
        self.done.handled_by[proc.name] = self.done.handled_by.get(proc.name, 0) + new
        self.done.duplicates += duplicates

    async def run(
        self,
        pool: asyncpg.Pool,
        processors: Sequence[Processor[Any]],
        source: AsyncIterator[list[Delivery]],
        side_by_side: Collection[str] = (),
    ) -> Rebuilt:
        """Feed every batch of `source` to the processor of its topic, as live does: a share per
        partition, side by side for the processors named in `side_by_side` (whose partitions
        are independent), else one after another."""
        by_topic = {topic: proc for proc in processors for topic in proc.topics}
        try:
            async for batch in source:
                proc = by_topic[batch[0].topic]
                parts = shares(batch)
                if proc.name in side_by_side:
                    await asyncio.gather(*(process(pool, proc, share, self) for share in parts))
                else:
                    for share in parts:
                        await process(pool, proc, share, self)
        finally:
            _SHARE_TIME.set(None)  # the clock reads `now` again, the last share's time
        return self.done


def differences(
    table: str, live: dict[str, object], rebuilt: dict[str, object]
) -> list[Difference]:
    """Every key whose value differs between `live` and `rebuilt` (missing on one side too)."""
    return [
        Difference(table, key, live.get(key), rebuilt.get(key))
        for key in sorted(live.keys() | rebuilt.keys())
        if live.get(key) != rebuilt.get(key)
    ]
