"""The embedded broker and PostgreSQL answer, restart and stop as the rest of the suite expects."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from wijkbus.infra import Backend, EmbeddedBroker, EmbeddedPostgres

_seen_databases: set[str] = set()


def _topic() -> str:
    return f"test.infra.{uuid.uuid4().hex}"


async def _topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"straat-1")
    finally:
        await producer.stop()


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_broker_round_trips_a_message(kafka_bootstrap: str) -> None:
    topic = _topic()
    await _produce(kafka_bootstrap, topic, b"overlast")
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=15)
    finally:
        await consumer.stop()
    assert (message.key, message.value) == (b"straat-1", b"overlast")


async def test_postgres_answers_select_one(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("select 1") == 1
    finally:
        await conn.close()


async def test_broker_restart_loses_topics_and_keeps_port() -> None:
    with EmbeddedBroker() as broker:
        topic, port, first_pid = _topic(), broker.port, broker.pid
        await _produce(broker.bootstrap, topic, b"vernieling")
        assert topic in await _topics(broker.bootstrap)

        broker.restart()

        assert broker.port == port
        assert broker.pid != first_pid
        assert topic not in await _topics(broker.bootstrap)


def test_broker_stop_leaves_no_process() -> None:
    broker = EmbeddedBroker().start()
    pid = broker.pid
    assert pid is not None and _pid_exists(pid)

    broker.stop()

    assert broker.pid is None
    assert not _pid_exists(pid)


@pytest.mark.parametrize("run", [1, 2])
async def test_fresh_database_is_empty_and_its_own(
    fresh_database: str, database_url: str, run: int
) -> None:
    name = urlsplit(fresh_database).path.lstrip("/")
    assert name != urlsplit(database_url).path.lstrip("/")
    assert name not in _seen_databases
    _seen_databases.add(name)
    conn = await asyncpg.connect(fresh_database)
    try:
        assert await conn.fetchval("select current_database()") == name
        tables = await conn.fetchval(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        )
        assert tables == 0
        await conn.execute("create table probe (id int)")
    finally:
        await conn.close()


async def test_dropped_database_is_gone_even_with_a_connection_left_open(
    backend: Backend,
) -> None:
    name = f"test_{uuid.uuid4().hex}"
    url = backend.create_database(name)
    forgotten = await asyncpg.connect(url)

    backend.drop_database(name)

    assert forgotten.is_closed() or not await _still_answers(forgotten)
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await asyncpg.connect(url)


async def _still_answers(conn: asyncpg.Connection) -> bool:
    try:
        await conn.fetchval("select 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError):
        return False
    finally:
        await conn.close()
    return True


async def test_embedded_postgres_keeps_data_only_when_asked(tmp_path: Path) -> None:
    datadir = tmp_path / "pg"
    with EmbeddedPostgres(datadir, keep=True) as pg:
        conn = await asyncpg.connect(pg.url)
        await conn.execute("create table kept (id int)")
        await conn.close()
    assert (datadir / "PG_VERSION").exists()

    with EmbeddedPostgres(datadir, keep=False) as pg:
        conn = await asyncpg.connect(pg.url)
        assert await conn.fetchval("select to_regclass('kept')::text") == "kept"
        await conn.close()
    assert not datadir.exists()
