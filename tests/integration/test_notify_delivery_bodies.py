"""A delivery's body stored once per event and form (migration 0011), on a real PostgreSQL:
shared by the subscriptions sent the same bytes, sent as it was queued, and deliveries queued
before the migration (their body inline) still sent with theirs."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from services.notify import claims, store
from tests.integration.notify_rows import MIGRATIONS, webhook_subscription
from wijkbus import db

LEASE = timedelta(seconds=60)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TYPE = "nl.wijkaanpak.routing.assigned"


async def _connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, server_settings={"search_path": "notify"})


@pytest.fixture
async def conn(fresh_database: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a database with notify's schema and nothing in it."""
    await db.migrate_url(fresh_database, "notify", MIGRATIONS)
    connection = await _connect(fresh_database)
    try:
        yield connection
    finally:
        await connection.close()


async def _sent(conn: asyncpg.Connection) -> dict[tuple[uuid.UUID, str], bytes]:
    """What a claim now sends: (subscription, event id) -> body."""
    taken = await claims.claim(conn, NOW, LEASE, 100, uuid.uuid4(), 0)
    return {(d.subscription_id, d.event_id): d.body for send in taken.sends for d in send}


async def test_subscriptions_sent_the_same_bytes_share_one_stored_body(
    conn: asyncpg.Connection,
) -> None:
    first, second = (
        await webhook_subscription(conn, types=(TYPE,)),
        await webhook_subscription(conn, types=(TYPE,)),
    )
    one, other = b'{"id":"e1","canary":"CANARY-1"}', b'{"id":"e2"}'
    queued = [
        (str(first), "src", "e1", TYPE, one, "s1"),
        (str(second), "src", "e1", TYPE, bytes(one), "s1"),  # equal bytes, another object
        (str(first), "src", "e2", TYPE, other, "s2"),
    ]
    await store.add_deliveries(conn, queued, NOW - timedelta(seconds=1))
    assert await conn.fetchval("SELECT count(*) FROM delivery_bodies") == 2
    assert await conn.fetchval("SELECT count(*) FROM deliveries WHERE body IS NOT NULL") == 0
    assert await _sent(conn) == {(first, "e1"): one, (second, "e1"): one, (first, "e2"): other}


async def test_an_event_queued_again_stores_no_second_body(conn: asyncpg.Connection) -> None:
    sub = await webhook_subscription(conn, types=(TYPE,))
    queued = [(str(sub), "src", "e1", TYPE, b'{"id":"e1"}', "s1")]
    await store.add_deliveries(conn, queued, NOW - timedelta(seconds=1))
    await store.add_deliveries(conn, [*queued, (str(sub), "src", "e2", TYPE, b"{}", "s2")], NOW)
    assert await conn.fetchval("SELECT count(*) FROM deliveries") == 2
    assert await conn.fetchval("SELECT count(*) FROM delivery_bodies") == 2
    unused = await conn.fetchval(
        "SELECT count(*) FROM delivery_bodies b"
        " WHERE NOT EXISTS (SELECT FROM deliveries d WHERE d.body_id = b.id)"
    )
    assert unused == 0


async def test_a_delivery_has_its_body_inline_or_stored_never_both_nor_neither(
    conn: asyncpg.Connection,
) -> None:
    sub = await webhook_subscription(conn, types=(TYPE,))
    await store.add_deliveries(conn, [(str(sub), "src", "e1", TYPE, b"{}", "")], NOW)
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute("UPDATE deliveries SET body = '{}'::bytea")
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute("UPDATE deliveries SET body_id = NULL")


async def test_deliveries_queued_before_the_migration_are_sent_with_their_inline_body(
    fresh_database: str, tmp_path: Path
) -> None:
    before = tmp_path / "migrations"
    before.mkdir()
    for _, path in db.migration_files(MIGRATIONS):
        if path.name < "0011":
            shutil.copy(path, before / path.name)
    await db.migrate_url(fresh_database, "notify", before)
    conn = await _connect(fresh_database)
    try:
        sub = await webhook_subscription(conn, types=(TYPE,))
        old = b'{"id":"old","canary":"CANARY-OLD"}'
        await conn.execute(
            "INSERT INTO deliveries (subscription_id, event_source, event_id, event_type, body,"
            " subject, next_attempt_at, created_at) VALUES ($1, 'src', 'old', $2, $3, 's', $4, $4)",
            sub,
            TYPE,
            old,
            NOW - timedelta(minutes=1),
        )
        assert "0011_delivery_bodies" in await db.migrate(conn, "notify", MIGRATIONS)
        new = b'{"id":"new"}'
        await store.add_deliveries(conn, [(str(sub), "src", "new", TYPE, new, "t")], NOW)
        assert await _sent(conn) == {(sub, "old"): old, (sub, "new"): new}
    finally:
        await conn.close()
