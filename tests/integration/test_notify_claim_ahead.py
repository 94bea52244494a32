"""Claiming ahead within a subscription's bound, and answers recorded write-behind, on a real
PostgreSQL with notify's schema."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.notify import answers, claims, store
from services.notify.domain import AttemptResult, Decision
from tests.integration.notify_rows import MIGRATIONS, webhook_subscription
from wijkbus import db

LEASE = timedelta(seconds=60)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def conn(fresh_database: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a database with notify's schema and nothing in it."""
    await db.migrate_url(fresh_database, "notify", MIGRATIONS)
    connection = await asyncpg.connect(fresh_database, server_settings={"search_path": "notify"})
    try:
        yield connection
    finally:
        await connection.close()


async def _subscription(conn: asyncpg.Connection, deliveries: int, max_in_flight: int) -> uuid.UUID:
    """A webhook subscription with `deliveries` due, each of a subject of its own."""
    sub = await webhook_subscription(conn, max_in_flight=max_in_flight)
    queued = [
        (str(sub), "bench", f"e{n}", "nl.wijkaanpak.routing.assigned", b"{}", f"sig-{n}")
        for n in range(deliveries)
    ]
    await store.add_deliveries(conn, queued, NOW - timedelta(seconds=1))
    return sub


async def _claim(conn: asyncpg.Connection, worker: uuid.UUID, ahead: int) -> list[int]:
    taken = await claims.claim(conn, NOW, LEASE, 100, worker, ahead)
    return [d.id for send in taken.sends for d in send]


async def test_a_worker_alone_claims_ahead_and_a_second_one_keeps_all_within_the_bound(
    conn: asyncpg.Connection,
) -> None:
    await _subscription(conn, deliveries=10, max_in_flight=2)
    first, second = uuid.uuid4(), uuid.uuid4()
    mine = await _claim(conn, first, ahead=3)
    assert len(mine) == 5  # its bound of 2, and 3 ahead: it is alone
    assert await _claim(conn, second, ahead=3) == []  # 5 leased, over the bound of 2
    await claims.release(conn, mine[:4])
    assert len(await _claim(conn, second, ahead=3)) == 1  # the other holds 1: 2 in all
    assert await _claim(conn, first, ahead=3) == []  # no more ahead while another holds some
    await claims.release(conn, mine[4:])
    assert len(await _claim(conn, first, ahead=3)) == 1  # with the other's 1: the bound of 2


async def test_answers_written_behind_are_recorded_in_one_go_and_leave_ended_rows_alone(
    conn: asyncpg.Connection,
) -> None:
    sub = await _subscription(conn, deliveries=3, max_in_flight=8)
    taken = await claims.claim(conn, NOW, LEASE, 100, uuid.uuid4(), 0)
    ok, failed, ended = (send[0] for send in taken.sends)
    await conn.execute("UPDATE deliveries SET status = 'cancelled' WHERE id = $1", ended.id)
    later = NOW + timedelta(seconds=5)
    retry = Decision("retry", later, "HTTP 500")
    await answers.record_answers(
        conn,
        [
            answers.Answer(ok, AttemptResult(204, 3), Decision("delivered"), NOW),
            answers.Answer(failed, AttemptResult(500, 4), retry, NOW),
            answers.Answer(ended, AttemptResult(204, 5), Decision("delivered"), NOW),
        ],
    )
    rows = {
        r["id"]: r
        for r in await conn.fetch(
            "SELECT id, status, attempts, next_attempt_at, lease_until, last_error FROM deliveries"
        )
    }
    assert (rows[ok.id]["status"], rows[ok.id]["attempts"], rows[ok.id]["lease_until"]) == (
        "delivered",
        1,
        None,
    )
    assert rows[failed.id]["status"] == "pending" and rows[failed.id]["next_attempt_at"] == later
    assert rows[failed.id]["last_error"] == "HTTP 500" and rows[failed.id]["lease_until"] is None
    assert rows[ended.id]["status"] == "cancelled"  # not brought back by a late answer
    logged = await conn.fetch(
        "SELECT delivery_id, status_code FROM delivery_attempts WHERE subscription_id = $1", sub
    )
    assert sorted((r["delivery_id"], r["status_code"]) for r in logged) == sorted(
        [(ok.id, 204), (failed.id, 500), (ended.id, 204)]
    )


async def test_a_claim_reads_a_few_pages_however_long_the_queue(conn: asyncpg.Connection) -> None:
    sub = await _subscription(conn, deliveries=0, max_in_flight=8)
    await conn.execute(
        "INSERT INTO deliveries (subscription_id, event_source, event_id, event_type, body,"
        " subject, next_attempt_at, created_at, status)"
        " SELECT $1, 'bench', 'e' || g, 't', '{}'::bytea, 's' || g, $2::timestamptz,"
        " $2::timestamptz, CASE WHEN g <= 40000 THEN 'delivered' ELSE 'pending' END"
        " FROM generate_series(1, 60000) g",
        sub,
        NOW - timedelta(minutes=1),
    )
    # Its bound is taken by leases of another worker: the claim only looks, it takes nothing.
    await conn.execute(
        "UPDATE deliveries SET lease_until = $1 WHERE id IN (SELECT id FROM deliveries"
        " WHERE status = 'pending' ORDER BY id LIMIT 8)",
        NOW + LEASE,
    )
    await conn.execute("ANALYZE deliveries")
    explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + claims._SINGLES
    plan = json.loads(await conn.fetchval(explain, NOW, NOW + LEASE, 100, uuid.uuid4(), 56))
    top = plan[0]["Plan"]
    assert top["Actual Rows"] == 0
    # Not a page per pending delivery (20,000 of them): a probe of an index or two.
    assert top["Shared Hit Blocks"] + top["Shared Read Blocks"] < 60


async def test_answers_waiting_to_be_written_are_written_when_the_writer_closes(
    conn: asyncpg.Connection, fresh_database: str
) -> None:
    await _subscription(conn, deliveries=3, max_in_flight=8)
    taken = await claims.claim(conn, NOW, LEASE, 100, uuid.uuid4(), 0)
    pool = await db.create_pool(fresh_database, "notify", max_size=2)
    recorded: list[int] = []
    try:
        writer = answers.WriteBehind(pool, recorded.append, wait_s=30)  # only closing writes
        running = asyncio.create_task(writer.run())
        for send in taken.sends:
            writer.add(send[0], AttemptResult(204, 1), Decision("delivered"), NOW)
        await asyncio.sleep(0.1)
        assert await conn.fetchval("SELECT count(*) FROM deliveries WHERE status = 'pending'") == 3
        writer.close()
        await asyncio.wait_for(running, 10)
        await writer.flush()
    finally:
        await pool.close()
    assert sum(recorded) == 3
    assert await conn.fetchval("SELECT count(*) FROM deliveries WHERE status = 'delivered'") == 3
    assert await conn.fetchval("SELECT count(*) FROM delivery_attempts") == 3
