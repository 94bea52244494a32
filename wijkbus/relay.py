"""The outbox relay: publishes a service's log from its position, in id order, never skipping.

The log (`outbox`) is append-only; the relay only moves `outbox_position.published_id`, in the
same transaction as it reads it, on the connection that holds the leader's advisory lock.

The gap problem: ids come from a sequence when a row is inserted, not when it commits, so a row
with a lower id can become visible after a higher one was published; a position past it would
skip it forever. Every statement inserting into `outbox` therefore first takes a shared advisory
lock until its transaction ends (a BEFORE STATEMENT trigger, so before any id is drawn). A round
reads the sequence's last drawn id `S`, *then* the transactions holding that lock `H` (pg_locks):
any transaction holding an id <= S drew it after taking the lock, so it is either finished (its
commit visible: locks are released after a commit becomes visible) or in `H`. Once none of `H`
holds the lock any more, every id <= S is final, and the relay publishes up to S. Each round
records a new (S, H) and publishes up to the newest one whose holders are gone, so a busy
writer only ever delays publishing by a round. The lock is shared, so writers never wait on
each other or on the relay.

Why not order by transaction id (`xid8` below `pg_snapshot_xmin`)? Transactions get their xid
at their first write (e.g. the inbox claim), not when they take an aggregate's lock, so two
handlers of one aggregate can get xids in the opposite order of their events; ids drawn after
the aggregate's row lock follow that lock's order, so id order keeps the order per key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder

from wijkbus import metrics
from wijkbus.logging import get_logger
from wijkbus.partitioning import partition_for

log = get_logger(__name__)

_LAST_DRAWN = (
    "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('outbox', 'id')::regclass), 0)"
)
_WRITERS = (
    "SELECT coalesce(array_agg(virtualtransaction), '{}') FROM pg_locks"
    " WHERE locktype = 'advisory' AND granted AND objsubid = 2"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid = hashtext('wijkbus.outbox')::oid AND objid = hashtext($1)::oid"
)
_MAX_HORIZONS = 16


async def send_rows(producer: AIOKafkaProducer, rows: Sequence[asyncpg.Record]) -> None:
    """Send log rows in their order and wait until the broker acknowledged every one; a row
    whose value was redacted (intake's retention) is not sent, and counts as done.

    The rows go into record batches per partition, in order (`send_batch`: aiokafka keeps one
    batch in flight per partition, so the order of rows with the same key is the order on the
    partition); a row is put on the partition `send` would choose (Kafka's default partitioner, in
    `wijkbus.partitioning`). One `send` per row cost more than the rest of the relay.
    """
    open_: dict[tuple[str, int], BatchBuilder] = {}
    layouts: dict[str, tuple[list[int], list[int]]] = {}  # per topic: all, available
    sent: list[asyncio.Future[object]] = []
    for r in rows:
        if r["value"] is None:
            continue
        topic, key = r["topic"], bytes(r["key"]) if r["key"] is not None else None
        layout = layouts.get(topic)
        if layout is None:
            layout = layouts[topic] = await _layout(producer, topic)
        partition = partition_for(key, *layout)
        record = {
            "timestamp": None,
            "key": key,
            "value": bytes(r["value"]),
            "headers": [(k, v.encode()) for k, v in json.loads(r["headers"])],
        }
        batch = open_.get((topic, partition))
        if batch is None or batch.append(**record) is None:
            if batch is not None:  # full: send it, and begin the partition's next batch
                sent.append(await producer.send_batch(batch, topic, partition=partition))
            batch = open_[(topic, partition)] = producer.create_batch()
            batch.append(**record)  # a batch always takes its first record
    for (topic, partition), batch in open_.items():
        sent.append(await producer.send_batch(batch, topic, partition=partition))
    await asyncio.gather(*sent)


async def _layout(producer: AIOKafkaProducer, topic: str) -> tuple[list[int], list[int]]:
    """The topic's partitions, all (sorted, waiting for its metadata) and those available."""
    every = sorted(await producer.partitions_for(topic))
    return every, list(producer.client.cluster.available_partitions_for_topic(topic) or ())


class OutboxRelay:
    """Publishes a schema's outbox from its position; one leader per schema (advisory lock).

    A NOTIFY at each inserting commit wakes it; it also polls.
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
        self._horizons: list[tuple[int, frozenset[str]]] = []
        self._safe = 0
        self.published = 0

    @property
    def running(self) -> bool:
        """Whether the relay's background task runs (it only ends when stopped)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Run the relay in the background."""
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._schema}")

    async def stop(self) -> None:
        """Stop the relay; what it did not publish yet waits above the position."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                async with self._pool.acquire() as leader:
                    await self._lead(leader)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay failed, retrying", error=repr(exc))
                await asyncio.sleep(self._poll)

    async def _lead(self, leader: asyncpg.Connection) -> None:
        lock_key = f"outbox-relay:{self._schema}"
        # A standby relay polls for the lock; there is no event to wait for.
        while not await leader.fetchval(  # noqa: ASYNC110
            "SELECT pg_try_advisory_lock(hashtext($1))", lock_key
        ):
            await asyncio.sleep(self._poll)
        await leader.add_listener(f"{self._schema}_outbox", self._on_notify)
        try:
            while True:
                self._wake.clear()
                sent = await self.publish_pending(leader)
                if sent < self._batch:
                    # Rows held back for a writer still in flight: look again soon.
                    wait = 0.02 if self._horizons else self._poll
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            await leader.remove_listener(f"{self._schema}_outbox", self._on_notify)
            await leader.execute("SELECT pg_advisory_unlock(hashtext($1))", lock_key)

    async def publish_pending(self, conn: asyncpg.Connection | None = None) -> int:
        """Publish one batch of final rows after the position; return how many were sent."""
        if conn is None:
            async with self._pool.acquire() as own:
                return await self.publish_pending(own)
        async with conn.transaction():
            # The row lock makes rounds of two relays (or a stray call) take turns.
            position = await conn.fetchval("SELECT published_id FROM outbox_position FOR UPDATE")
            safe = await self._final_up_to(conn)
            rows = await conn.fetch(
                "SELECT id, topic, key, value, headers FROM outbox"
                " WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
                position,
                safe,
                self._batch,
            )
            if rows:
                await send_rows(self._producer, rows)
                position = rows[-1]["id"]
                await conn.execute(
                    "UPDATE outbox_position SET published_id = $1, published_at = now()", position
                )
            # Counted once caught up (a short scan); a full round means more waits anyway, and
            # counting a large backlog every round would cost more than publishing it.
            waiting = None
            if len(rows) < self._batch:
                waiting = await conn.fetchval("SELECT count(*) FROM outbox WHERE id > $1", position)
        self.published += len(rows)
        metrics.OUTBOX_PUBLISHED.labels(self._schema).inc(len(rows))
        if waiting is not None:
            metrics.OUTBOX_BACKLOG.labels(self._schema).set(waiting)
        return len(rows)

    async def _final_up_to(self, conn: asyncpg.Connection) -> int:
        """The highest id below which no row can still appear (see the module docstring)."""
        drawn = int(await conn.fetchval(_LAST_DRAWN))  # first the ids, then their holders
        writers = frozenset(await conn.fetchval(_WRITERS, self._schema))
        if len(self._horizons) >= _MAX_HORIZONS:
            self._horizons.pop()  # dropping a horizon only delays; the newer one replaces it
        self._horizons.append((drawn, writers))
        while self._horizons and not (self._horizons[0][1] & writers):
            self._safe = max(self._safe, self._horizons.pop(0)[0])
        return self._safe
