"""The log as history: read back like the topics, kept but for old receipts, and republished
to a broker that lost everything without any consumer counting an event twice."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiokafka.structs import ConsumerRecord

from contracts import topics
from tests.integration.kit_log_support import (
    SOURCE,
    backlog,
    log_pool,
    message,
    producing,
    read_all,
    sent_shape,
    shape,
)
from tests.support import eventually, unique
from wijkbus import inbox
from wijkbus.infra import EmbeddedBroker
from wijkbus.log_retention import prune_receipts
from wijkbus.outbox import enqueue
from wijkbus.outbox_log import log_batches, topic_reaches_back
from wijkbus.relay import OutboxRelay
from wijkbus.republish import republish_services
from wijkbus.runtime import ServiceRuntime
from wijkbus.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "routing", "budget", "notify")


async def _publish(pool: asyncpg.Pool, bootstrap: str, schema: str) -> None:
    async with producing(bootstrap) as producer:
        assert await OutboxRelay(pool, producer, schema=schema).publish_pending() > 0


async def test_log_batches_yield_the_published_records_of_the_topics_in_log_order(
    tmp_path: Path, fresh_database: str, kafka_bootstrap: str
) -> None:
    first, second, other = unique("kit.a"), unique("kit.b"), unique("kit.c")
    sent = [message([first, second, other][n % 3], f"k{n % 2}", n) for n in range(36)]
    async with log_pool(fresh_database, "kitread", tmp_path) as pool:
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, *sent)
        await _publish(pool, kafka_bootstrap, "kitread")
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, message(first, "k0", 99))  # not published: not history yet
        batches = [b async for b in log_batches(pool, "kitread", [first, second], batch_size=10)]
        ids = [r["id"] for r in await pool.fetch("SELECT id FROM outbox ORDER BY id")]
    from_topics = await read_all(kafka_bootstrap, [first, second], count=24)

    assert [len(b) for b in batches] == [10, 10, 4]
    records = [r for b in batches for r in b]
    wanted = [m for m in sent if m.topic != other]
    assert [shape(r) for r in records] == [sent_shape(m) for m in wanted]
    logged = zip(ids[:36], sent, strict=True)
    assert [r.offset for r in records] == [i for i, m in logged if m.topic != other]
    assert {r.partition for r in records} == {0}
    by_topic = sorted(records, key=lambda r: (r.topic, r.offset))
    assert [shape(r) for r in by_topic] == [shape(r) for r in from_topics]


async def test_topic_reaches_back_only_when_it_holds_the_whole_log(
    tmp_path: Path, fresh_database: str, kafka_bootstrap: str
) -> None:
    topic = unique("kit.back")
    async with log_pool(fresh_database, "kitback", tmp_path) as pool:
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, *[message(topic, "k", n) for n in range(5)])
        await _publish(pool, kafka_bootstrap, "kitback")
    assert await topic_reaches_back(kafka_bootstrap, topic, 5)
    assert not await topic_reaches_back(kafka_bootstrap, topic, 6)
    with EmbeddedBroker() as empty:
        assert not await topic_reaches_back(empty.bootstrap, topic, 5)


async def test_receipts_retention_deletes_only_old_published_receipts(
    tmp_path: Path, fresh_database: str, kafka_bootstrap: str
) -> None:
    receipts = topics.partner_receipts(unique("p"))
    events = unique("kit.events")
    old_receipt, new_receipt = message(receipts, "r", 1), message(receipts, "r", 2)
    old_event, old_unpublished = message(events, "e", 3), message(receipts, "r", 4)
    now = datetime.now(UTC)
    async with log_pool(fresh_database, "kitkeep", tmp_path) as pool:
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, old_receipt, new_receipt, old_event)
        await _publish(pool, kafka_bootstrap, "kitkeep")
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, old_unpublished)
        await pool.execute(
            "UPDATE outbox SET created_at = $1 WHERE value = ANY($2::bytea[])",
            now - timedelta(days=40),
            [old_receipt.value, old_event.value, old_unpublished.value],
        )
        async with pool.acquire() as conn:
            assert await prune_receipts(conn, "kitkeep", now - timedelta(days=30)) == 1
        kept = [bytes(r["value"]) for r in await pool.fetch("SELECT value FROM outbox ORDER BY id")]
    assert kept == [new_receipt.value, old_event.value, old_unpublished.value]


async def test_a_new_empty_broker_gets_every_services_log_again_and_nothing_counts_twice(
    tmp_path: Path, fresh_database: str
) -> None:
    topic = {name: unique(f"{name}.log") for name in SERVICES}
    sent = {name: [message(topic[name], f"k{n % 2}", n) for n in range(6)] for name in SERVICES}
    everything = sorted(topic.values())
    async with log_pool(fresh_database, "reader", tmp_path) as reader:
        broker = EmbeddedBroker().start()
        try:
            async with _services(fresh_database, broker.bootstrap) as runtimes:
                for name, runtime in runtimes.items():
                    async with runtime.pool.acquire() as conn, conn.transaction():
                        await enqueue(conn, *sent[name])
                for runtime in runtimes.values():
                    await eventually(lambda r=runtime: _drained(r.pool), what="all published")
            before = await read_all(broker.bootstrap, everything, count=24)
            assert await _claim_new(reader, before) == 24

            broker.stop()  # the in-memory broker: every topic is gone
            broker = EmbeddedBroker(port=broker.port).start()
            async with _services(fresh_database, broker.bootstrap):
                after = await read_all(broker.bootstrap, everything, count=24)
            # Each service saw at startup that the broker lacked its log, and sent it again.
            assert [shape(r) for r in after] == [shape(r) for r in before]
            assert await _claim_new(reader, after) == 0

            # And by hand: `wijkbus replay --republish` sends every service's log once more.
            sent_again = await republish_services(fresh_database, broker.bootstrap, SERVICES)
            assert sent_again == dict.fromkeys(SERVICES, 6)
            twice = await read_all(broker.bootstrap, everything, count=48)
            assert len(twice) == 48 and await _claim_new(reader, twice) == 0
        finally:
            broker.stop()


@asynccontextmanager
async def _services(database_url: str, bootstrap: str) -> AsyncIterator[dict[str, ServiceRuntime]]:
    """The four services' runtimes (no consumers): migrations, relay, republishing at start."""
    async with AsyncExitStack() as stack:
        runtimes = {}
        for name in SERVICES:
            settings = ServiceSettings(
                service_name=name,
                database_url=database_url,
                kafka_bootstrap_servers=bootstrap,
                relay_poll_interval_s=0.1,
            )
            runtime = ServiceRuntime(settings, REPO / "services" / name / "migrations")
            await runtime.start()
            stack.push_async_callback(runtime.stop)
            runtimes[name] = runtime
        yield runtimes


async def _drained(pool: asyncpg.Pool) -> bool:
    return await backlog(pool) == 0


async def _claim_new(reader: asyncpg.Pool, records: list[ConsumerRecord[bytes, bytes]]) -> int:
    """Claim the records' CloudEvents in an inbox, as a consumer does; how many were new."""
    keys = [f"{SOURCE}|{json.loads(r.value)['id']}" for r in records]
    async with reader.acquire() as conn:
        return len(await inbox.claim_many(conn, "reader", keys))
