"""The kit's relay publishes a service's log from its position: in id order, each row once, and
never past a row that a transaction still in flight may yet commit below it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import murmur2

from tests.integration.kit_log_support import (
    backlog,
    log_pool,
    message,
    producing,
    read_all,
    sent_shape,
    shape,
)
from tests.support import eventually, unique
from wijkbus.outbox import enqueue
from wijkbus.relay import OutboxRelay


async def test_relay_publishes_in_id_order_from_its_position_and_never_resends_on_restart(
    tmp_path: Path, fresh_database: str, kafka_bootstrap: str
) -> None:
    topic = unique("kit.log")
    sent = [message(topic, f"k{n % 3}", n) for n in range(15)]
    async with (
        log_pool(fresh_database, "kitlog", tmp_path) as pool,
        producing(kafka_bootstrap) as producer,
    ):
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, *sent[:10])
        first = OutboxRelay(pool, producer, schema="kitlog", poll_interval_s=0.1)
        first.start()
        await eventually(lambda: _drained(pool), what="the first ten published")
        await first.stop()

        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, *sent[10:])
        again = OutboxRelay(pool, producer, schema="kitlog", poll_interval_s=0.1)
        again.start()
        await eventually(lambda: _drained(pool), what="the last five published")
        await again.stop()

        kept = await pool.fetch("SELECT id FROM outbox ORDER BY id")
        position = await pool.fetchval("SELECT published_id FROM outbox_position")
    assert (first.published, again.published) == (10, 5)
    records = await read_all(kafka_bootstrap, [topic], count=15)
    assert [shape(r) for r in records] == [sent_shape(m) for m in sent]  # once each, in order
    assert len(kept) == 15 and position == kept[-1]["id"]  # the log keeps every row


async def test_a_row_committed_below_a_published_one_is_never_skipped(
    tmp_path: Path, fresh_database: str, kafka_bootstrap: str
) -> None:
    topic = unique("kit.gap")
    early, late = message(topic, "k", 1), message(topic, "k", 2)
    async with (
        log_pool(fresh_database, "kitgap", tmp_path) as pool,
        producing(kafka_bootstrap) as producer,
    ):
        slow = await asyncpg.connect(fresh_database, server_settings={"search_path": "kitgap"})
        quick = await asyncpg.connect(fresh_database, server_settings={"search_path": "kitgap"})
        try:
            held = slow.transaction()
            await held.start()
            await enqueue(slow, early)  # draws the lower id, commits last
            async with quick.transaction():
                await enqueue(quick, late)
            early_id = await slow.fetchval("SELECT min(id) FROM outbox")
            visible = await pool.fetch("SELECT id FROM outbox")
            # A relay sending what it sees would send `late` and move its position past `early`.
            assert [r["id"] for r in visible] == [early_id + 1]

            relay = OutboxRelay(pool, producer, schema="kitgap")
            assert await relay.publish_pending() == 0
            assert await pool.fetchval("SELECT published_id FROM outbox_position") == 0

            await held.commit()
            assert await relay.publish_pending() == 2
        finally:
            await slow.close()
            await quick.close()
    records = await read_all(kafka_bootstrap, [topic], count=2)
    assert [shape(r) for r in records] == [sent_shape(early), sent_shape(late)]


async def test_a_writer_in_flight_in_another_schema_holds_nothing_back(
    tmp_path: Path, fresh_database: str, kafka_bootstrap: str
) -> None:
    topic = unique("kit.other")
    async with (
        log_pool(fresh_database, "kitmine", tmp_path) as mine,
        log_pool(fresh_database, "kitother", tmp_path) as other,
        producing(kafka_bootstrap) as producer,
        other.acquire() as busy,
    ):
        held = busy.transaction()
        await held.start()
        await enqueue(busy, message(topic, "k", 0))
        async with mine.acquire() as conn, conn.transaction():
            await enqueue(conn, message(topic, "k", 1))
        assert await OutboxRelay(mine, producer, schema="kitmine").publish_pending() == 1
        await held.rollback()


async def _drained(pool: asyncpg.Pool) -> bool:
    return await backlog(pool) == 0


async def test_relay_puts_each_key_on_the_partition_send_would_choose_in_order_big_rows_too(
    tmp_path: Path, fresh_database: str, kafka_bootstrap: str
) -> None:
    topic = unique("kit.parts")
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
    finally:
        await admin.close()
    # 600 rows over 12 keys: several record batches per partition; every 50th row is larger
    # than a whole batch (aiokafka's 16 KiB), so it goes in a batch of its own.
    sent = [message(topic, f"street-{n % 12}", n) for n in range(600)]
    sent = [
        replace(m, value=m.value[:-1] + b', "pad": "' + b"x" * 20_000 + b'"}') if n % 50 == 0 else m
        for n, m in enumerate(sent)
    ]
    async with (
        log_pool(fresh_database, "kitparts", tmp_path) as pool,
        producing(kafka_bootstrap) as producer,
    ):
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, *sent)
        relay = OutboxRelay(pool, producer, schema="kitparts", poll_interval_s=0.1)
        relay.start()
        await eventually(lambda: _drained(pool), what="all 600 published")
        await relay.stop()
    records = await read_all(kafka_bootstrap, [topic], count=600)
    assert len(records) == 600
    for r in records:
        assert r.key is not None and r.partition == (murmur2(r.key) & 0x7FFFFFFF) % 4
    by_key: dict[bytes, list[bytes]] = {}
    for r in records:  # read_all sorts by partition and offset: each key's order on its partition
        by_key.setdefault(r.key, []).append(r.value)
    for key, values in by_key.items():
        assert values == [m.value for m in sent if m.key == key.decode()]
