"""Intake's event log is its outbox: a signal message is stored once, and the chain is on it.

Before migration 0008 every signal message was stored twice, in the outbox the relay publishes
and in the hash-chained `event_log`. Now the outbox row carries the chain; `event_log` is a view.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from contracts import topics
from services.intake import ledger, ledger_acts, ledger_verify
from services.intake.app import HERE
from tests.integration.kit_log_support import backlog, producing, read_all
from tests.integration.test_intake_audit import (
    _env,
    _sealed,
    fetchval,
    send_signals,
    signing_intake,
    wijkbus,
)
from tests.support import unique
from tools.devstack import DemoCredentials
from wijkbus import db
from wijkbus.outbox import OutgoingMessage
from wijkbus.relay import OutboxRelay
from wijkbus.republish import republish

__all__ = ["signing_intake"]
LOGGED = "SELECT count(*) FROM intake.outbox WHERE topic = $1"


async def test_a_signal_message_is_stored_once_and_sealed_where_the_relay_publishes_it(
    signing_intake: tuple[httpx.AsyncClient, DemoCredentials, Any], fresh_database: str
) -> None:
    http, creds, _ = signing_intake
    ids = await send_signals(http, creds, unique("Eenmaalstraat"), 3)
    await _sealed(fresh_database, 3)
    assert await fetchval(fresh_database, LOGGED, topics.SIGNALS_ACCEPTED) == 3
    kind = await fetchval(
        fresh_database,
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'intake' AND c.relname = 'event_log'",
    )
    assert kind == b"v"  # a view of the outbox, not a second table
    sealed = await fetchval(
        fresh_database,
        "SELECT array_agg(subject ORDER BY position) FROM intake.outbox"
        " WHERE topic = $1 AND position IS NOT NULL",
        topics.SIGNALS_ACCEPTED,
    )
    assert sorted(sealed) == sorted(ids)
    code, output = await wijkbus("audit", "verify", env=_env(fresh_database))
    assert code == 0, output
    assert "intact: 3 sealed rows" in output


def _event(signal_id: str) -> bytes:
    return json.dumps({"type": "x", "subject": signal_id, "data": {}}).encode()


async def test_migration_0008_moves_the_chain_onto_the_outbox_rows_it_logged_twice(
    fresh_database: str, tmp_path: Path
) -> None:
    before = tmp_path / "migrations"
    before.mkdir()
    for path in sorted((HERE / "migrations").glob("000[1-7]_*.sql")):
        shutil.copy(path, before)
    await db.migrate_url(fresh_database, "intake", before)
    key = ledger_acts.LedgerKey.ephemeral()
    conn = await asyncpg.connect(fresh_database, server_settings={"search_path": "intake"})
    try:
        await ledger_acts.sign_cutover(conn, key)
        signals = [str(uuid.uuid4()) for _ in range(3)]
        for signal_id in signals:  # as intake published before 0008: outbox and log, one tx
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO outbox (topic, key, value) VALUES ($1, 'straat', $2)",
                    topics.SIGNALS_ACCEPTED,
                    _event(signal_id),
                )
                await conn.execute(
                    "INSERT INTO event_log (topic, key, value, signal_id)"
                    " VALUES ($1, 'straat', $2, $3)",
                    topics.SIGNALS_ACCEPTED,
                    _event(signal_id),
                    uuid.UUID(signal_id),
                )
        await conn.execute(
            "INSERT INTO outbox (topic, key, value) VALUES ($1, NULL, '{}')",
            topics.partner_receipts("woonstichting-noord"),
        )
        assert await ledger.seal(conn) == 3  # the sealer of then: same statements, the table
        await ledger_acts.checkpoint(conn, key, await conn.fetchval("SELECT now()"))
        head = await conn.fetchval("SELECT row_hash FROM event_log WHERE position = 3")

        assert await db.migrate_url(fresh_database, "intake", HERE / "migrations") == [
            "0008_event_log_in_outbox"
        ]
        rows = await conn.fetch("SELECT topic, subject, position, row_hash FROM outbox ORDER BY id")
        logged = [r for r in rows if r["topic"] == topics.SIGNALS_ACCEPTED]
        assert [(r["subject"], r["position"]) for r in logged] == [
            (s, n) for n, s in enumerate(signals, 1)
        ]  # each message once, with the place it had in the chain
        assert logged[-1]["row_hash"] == head
        assert len(rows) == 4  # and the receipt, unchained
        result = await ledger_verify.verify(conn, [key.public])
        assert result.intact, result.problem
        assert (result.sealed, result.head_hash) == (3, head)
    finally:
        await conn.close()


async def test_a_redacted_row_is_neither_relayed_nor_republished_and_the_position_passes_it(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    """Retention redacts what intake published about an anonymised signal in place (the chain
    keeps its hashes): the relay and republishing skip it instead of sending its street again."""
    await db.migrate_url(fresh_database, "intake", HERE / "migrations")
    pool = await db.create_pool(fresh_database, "intake", max_size=2)
    key = ledger_acts.LedgerKey.ephemeral()
    signals = [str(uuid.uuid4()) for _ in range(3)]
    try:
        async with pool.acquire() as conn:
            await ledger_acts.sign_cutover(conn, key)
            async with conn.transaction():
                await ledger.publish(
                    conn,
                    *(
                        OutgoingMessage(topics.SIGNALS_ACCEPTED, "straat", _event(s), subject=s)
                        for s in signals
                    ),
                )
            assert await ledger.seal(conn) == 0  # publish chained them as it wrote them
            async with conn.transaction():
                assert await ledger_acts.redact(conn, key, signals[1], datetime.now(UTC), "t") == 1
        async with producing(kafka_bootstrap) as producer:
            assert await OutboxRelay(pool, producer, schema="intake").publish_pending() == 3
            assert await backlog(pool) == 0  # the position passed the redacted row
            assert await republish(pool, producer, "intake") == 2
        records = await read_all(kafka_bootstrap, [topics.SIGNALS_ACCEPTED], count=4)
        sent = [json.loads(r.value)["subject"] for r in records if r.value is not None]
        assert sorted(sent) == sorted([signals[0], signals[2]] * 2)  # relayed, then republished
        async with pool.acquire() as conn:
            assert (await ledger_verify.verify(conn, [key.public])).intact
    finally:
        await pool.close()
