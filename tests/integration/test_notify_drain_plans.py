"""Draining a backlog stays cheap for PostgreSQL: the plans it picks for the claim's statements
with a burst's stale statistics, and as the generic plans prepared statements get after five
runs, read pages per delivery claimed, not per delivery queued."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.notify import claims, store
from tests.integration.notify_rows import MIGRATIONS, webhook_subscription
from wijkbus import db

LEASE = timedelta(seconds=60)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BACKLOG = 20_000


@pytest.fixture
async def conn(fresh_database: str) -> AsyncIterator[asyncpg.Connection]:
    """Notify's schema, its deliveries never analysed: the statistics of a burst's first minute."""
    await db.migrate_url(fresh_database, "notify", MIGRATIONS)
    connection = await asyncpg.connect(fresh_database, server_settings={"search_path": "notify"})
    await connection.execute("ALTER TABLE deliveries SET (autovacuum_enabled = false)")
    try:
        yield connection
    finally:
        await connection.close()


async def _backlog(conn: asyncpg.Connection, sub: uuid.UUID, due: datetime) -> None:
    """BACKLOG deliveries due at `due`, each of a subject of its own."""
    queued = [(str(sub), "src", f"e{n}", "t", b"{}", f"sig-{n}") for n in range(BACKLOG)]
    for start in range(0, BACKLOG, 1000):
        await store.add_deliveries(conn, queued[start : start + 1000], due)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def test_a_claim_of_singles_finds_each_subjects_head_without_walking_the_backlog(
    conn: asyncpg.Connection,
) -> None:
    sub = await webhook_subscription(conn, types=("t",))
    backoff = [(str(sub), "src", f"b{n}", "t", b"{}", f"later-{n}") for n in range(1000)]
    await store.add_deliveries(conn, backoff, NOW + timedelta(seconds=30))
    await _backlog(conn, sub, NOW - timedelta(seconds=1))
    explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + claims._SINGLES
    probe = conn.transaction()
    await probe.start()
    try:
        plan = await conn.fetchval(explain, NOW, NOW + LEASE, 120, uuid.uuid4(), 56)
    finally:
        await probe.rollback()
    top = json.loads(plan)[0]["Plan"]
    assert top["Actual Rows"] == 8 + 56  # max_in_flight, and as many ahead
    # Before: each candidate's earlier deliveries of its subject looked for by walking the
    # subscription's due deliveries (20,000 rows per candidate, 111 ms a claim), and whether
    # the subscription has anything pending by sorting them all: 52,000 pages for 64 leases.
    assert top["Shared Hit Blocks"] + top["Shared Read Blocks"] < 40 * top["Actual Rows"]


async def test_a_new_batch_checks_its_subjects_without_walking_the_backlog_per_subject(
    conn: asyncpg.Connection,
) -> None:
    sub = await webhook_subscription(conn, types=("t",), batch=100)
    await _backlog(conn, sub, NOW - timedelta(seconds=1))
    fresh = await conn.fetch(claims._FRESH, sub, NOW, 800)
    subjects = [r["subject"] for r in fresh]
    explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + claims._WAITING
    top = json.loads(await conn.fetchval(explain, sub, NOW, subjects))[0]["Plan"]
    # Before: the subscription's pending deliveries walked once per subject (1,680,000 pages).
    assert top["Shared Hit Blocks"] + top["Shared Read Blocks"] < 10 * len(subjects)


async def test_a_batchs_lease_as_a_generic_plan_looks_each_delivery_up_once(
    conn: asyncpg.Connection,
) -> None:
    sub = await webhook_subscription(conn, types=("t",), batch=100)
    await _backlog(conn, sub, NOW - timedelta(seconds=1))
    ids = [r["id"] for r in await conn.fetch(claims._FRESH, sub, NOW, 800)]
    batch = str(uuid.uuid4())
    literal = ", ".join(
        f"'{value}'"
        for value in (
            "{" + ",".join(map(str, ids)) + "}",
            "{" + ",".join([batch] * len(ids)) + "}",
            (NOW + LEASE).isoformat(),
            NOW.isoformat(),
        )
    )
    leasing = conn.transaction()
    await leasing.start()
    try:
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await conn.execute(
            "PREPARE lease (bigint[], uuid[], timestamptz, timestamptz) AS " + claims._LEASE
        )
        plan = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE lease({literal})")
    finally:
        await leasing.rollback()
    top = json.loads(plan)[0]["Plan"]
    assert top["Actual Rows"] == len(ids)
    # Before: the unnested ids scanned once per leased delivery (800 x 800 rows compared).
    removed = sum(n.get("Rows Removed by Join Filter", 0) for n in _nodes(top))
    assert removed < len(ids)


async def test_the_soonest_delivery_in_backoff_is_found_in_a_few_pages(
    conn: asyncpg.Connection,
) -> None:
    busy, waiting = (
        await webhook_subscription(conn, types=("t",)),
        await webhook_subscription(conn, types=("t",)),
    )
    await webhook_subscription(
        conn, types=("t",)
    )  # nothing pending: one probe, and counts for nothing
    await _backlog(conn, busy, NOW - timedelta(seconds=1))  # due: not in backoff
    queued = [(str(waiting), "src", f"w{n}", "t", b"{}", f"w{n}") for n in range(3)]
    await store.add_deliveries(conn, queued[:1], NOW + timedelta(seconds=30))
    await store.add_deliveries(conn, queued[1:], NOW + timedelta(seconds=5))
    assert await claims.next_due_in_s(conn, NOW) == 5.0
    explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + claims._SOONEST
    top = json.loads(await conn.fetchval(explain, NOW))[0]["Plan"]
    assert top["Shared Hit Blocks"] + top["Shared Read Blocks"] < 40


async def test_nothing_in_backoff_is_no_wait(conn: asyncpg.Connection) -> None:
    sub = await webhook_subscription(conn, types=("t",))
    await store.add_deliveries(conn, [(str(sub), "src", "e", "t", b"{}", "s")], NOW)
    assert await claims.next_due_in_s(conn, NOW) is None


async def test_a_claim_rewrites_its_deliveries_on_their_own_pages(
    conn: asyncpg.Connection,
) -> None:
    sub = await webhook_subscription(conn, types=("t",))
    queued = [(str(sub), "src", f"e{n}", "t", b"{}", f"s{n}") for n in range(400)]
    await store.add_deliveries(conn, queued, NOW)
    page = "SELECT id, (ctid::text::point)[0] AS page FROM deliveries"
    before = {r["id"]: r["page"] for r in await conn.fetch(page)}
    taken = await claims.claim(conn, NOW, LEASE, 10, uuid.uuid4(), 2)
    leased = [d.id for send in taken.sends for d in send]
    assert len(leased) == 10
    after = {r["id"]: r["page"] for r in await conn.fetch(page)}
    # Each a new version (not HOT: the lease is in an index's predicate), on its page still:
    # the pages the fan-out filled have room left (fillfactor).
    assert [after[i] for i in leased] == [before[i] for i in leased]
