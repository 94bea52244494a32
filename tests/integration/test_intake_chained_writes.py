"""Intake chains its event log and its received events as it writes them, in the writing
transaction (no sealer reads the rows back to update them): positions follow commit order across
concurrent writers, rows an older writer left unsealed are chained first, a claim that would
leave a gap is refused whole, and the chains verify."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from contracts import topics
from services.intake import ledger, ledger_acts, ledger_verify, store, trails
from services.intake.app import HERE
from wijkbus import db
from wijkbus.outbox import OutgoingMessage

NOW = datetime(2026, 11, 20, 21, 45, tzinfo=UTC)


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    await db.migrate_url(fresh_database, "intake", HERE / "migrations")
    pool = await db.create_pool(fresh_database, "intake", max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


def _accepted(signal_id: str) -> OutgoingMessage:
    value = json.dumps({"type": "x", "subject": signal_id, "data": {}}).encode()
    return OutgoingMessage(topics.SIGNALS_ACCEPTED, "straat", value, subject=signal_id)


def _receipt() -> OutgoingMessage:
    return OutgoingMessage(topics.partner_receipts("woonstichting-noord"), None, b"{}")


def _received(n: int) -> store.ReceivedEvent:
    signal_id = str(uuid.uuid4()).upper()  # the trail hashes the text PostgreSQL gives back
    return store.ReceivedEvent("urn:test", f"E-{n}", "h", "p", "t", signal_id, NOW)


async def _verified(
    conn: asyncpg.Connection, key: ledger_acts.LedgerKey
) -> ledger_verify.Verification:
    result = await ledger_verify.verify(conn, [key.public])
    assert result.intact, result.problem
    return result


async def test_published_signal_messages_are_chained_in_the_writing_transaction(
    pool: asyncpg.Pool,
) -> None:
    key = ledger_acts.LedgerKey.ephemeral()
    signals = [str(uuid.uuid4()) for _ in range(5)]
    async with pool.acquire() as conn:
        await ledger_acts.sign_cutover(conn, key)
        for batch in (signals[:3], signals[3:]):
            async with conn.transaction():
                messages = [m for s in batch for m in (_accepted(s), _receipt())]
                await ledger.publish(conn, *messages)
        rows = await conn.fetch("SELECT topic, subject, position FROM outbox ORDER BY id")
        assert [(r["subject"], r["position"]) for r in rows if r["subject"]] == [
            (s, n) for n, s in enumerate(signals, 1)
        ]
        assert all(r["position"] is None for r in rows if r["subject"] is None)  # receipts
        assert await ledger.seal(conn) == 0  # nothing left for the sealer
        result = await _verified(conn, key)
        assert (result.sealed, result.unsealed) == (5, 0)


async def test_rows_an_older_writer_left_unsealed_are_chained_first(pool: asyncpg.Pool) -> None:
    key = ledger_acts.LedgerKey.ephemeral()
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    async with pool.acquire() as conn:
        await ledger_acts.sign_cutover(conn, key)
        await conn.execute(  # as intake wrote before it chained as it writes: for the sealer
            "INSERT INTO outbox (topic, key, value, subject) VALUES ($1, 'straat', '{}', $2)",
            topics.SIGNALS_ACCEPTED,
            old,
        )
        async with conn.transaction():
            await ledger.publish(conn, _accepted(new))
        rows = await conn.fetch("SELECT subject, position FROM outbox ORDER BY id")
        assert [(r["subject"], r["position"]) for r in rows] == [(old, 1), (new, 2)]
        assert (await _verified(conn, key)).sealed == 2


async def test_concurrent_writers_take_turns_and_the_chain_follows_commit_order(
    pool: asyncpg.Pool,
) -> None:
    key = ledger_acts.LedgerKey.ephemeral()
    async with pool.acquire() as conn:
        await ledger_acts.sign_cutover(conn, key)
    first_wrote = asyncio.Event()

    async def write(signal_ids: list[str], hold: bool) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await ledger.publish(conn, *(_accepted(s) for s in signal_ids))
            if hold:  # the second writer must wait for this commit, not chain beside it
                first_wrote.set()
                await asyncio.sleep(0.3)

    async def second() -> None:
        await first_wrote.wait()
        await write(later, hold=False)

    earlier, later = [str(uuid.uuid4()) for _ in range(3)], [str(uuid.uuid4()) for _ in range(3)]
    await asyncio.gather(write(earlier, hold=True), second())
    async with pool.acquire() as conn:
        chained = await conn.fetch("SELECT signal_id FROM event_log ORDER BY position")
        assert [r["signal_id"] for r in chained] == earlier + later
        assert (await _verified(conn, key)).sealed == 6


async def test_received_events_are_chained_as_claimed(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for batch in ([_received(1), _received(2)], [_received(3)]):
            async with conn.transaction():
                await store.claim_events(conn, batch)
        walked = await trails.walk(conn, trails.RECEIVED, {})
        assert (walked.sealed, walked.unsealed, walked.problem) == (3, 0, None)
        assert await trails.seal(conn, trails.RECEIVED) == 0


async def test_a_claim_that_would_leave_a_gap_in_the_trail_is_refused_whole(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        async with conn.transaction():
            await store.claim_events(conn, [_received(1)])
        with pytest.raises(store.ClaimConflict):
            async with conn.transaction():  # E-1 again: received meanwhile, by another writer
                await store.claim_events(conn, [_received(2), _received(1), _received(3)])
        assert await conn.fetchval("SELECT count(*) FROM received_events") == 1
        walked = await trails.walk(conn, trails.RECEIVED, {})
        assert (walked.sealed, walked.problem) == (1, None)
