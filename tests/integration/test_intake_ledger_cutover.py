"""Intake's event log across migration 0005: old rows keep hash v1, nothing is rewritten."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from contracts import topics
from services.intake import ledger, ledger_acts, ledger_verify
from services.intake.app import HERE
from wijkbus import db


def _accepted(signal_id: str) -> bytes:
    event = {"type": "nl.wijkbus.intake.signal-accepted", "subject": signal_id, "data": {}}
    return json.dumps(event).encode()


async def _v1_chain(conn: asyncpg.Connection, count: int) -> None:
    """`count` rows as the sealer before migration 0005 left them (hash v1)."""
    prev = ledger.GENESIS
    for position in range(1, count + 1):
        signal_id = str(uuid.uuid4())
        value = _accepted(signal_id)
        content = ledger.content_hash_v1(topics.SIGNALS_ACCEPTED, "straat", value)
        this = ledger.row_hash(position, prev, content)
        await conn.execute(
            "INSERT INTO event_log (topic, key, value, signal_id, position, content_hash,"
            " prev_hash, row_hash) VALUES ($1, 'straat', $2, $3, $4, $5, $6, $7)",
            topics.SIGNALS_ACCEPTED,
            value,
            uuid.UUID(signal_id),
            position,
            content,
            prev,
            this,
        )
        prev = this


async def test_rows_before_the_cut_over_keep_hash_v1_under_a_signed_boundary(
    fresh_database: str, tmp_path: Path
) -> None:
    before = tmp_path / "migrations"
    before.mkdir()
    for path in sorted((HERE / "migrations").glob("000[1-4]_*.sql")):
        shutil.copy(path, before)
    await db.migrate_url(fresh_database, "intake", before)
    conn = await asyncpg.connect(fresh_database, server_settings={"search_path": "intake"})
    try:
        await _v1_chain(conn, 3)
        await conn.execute(  # retention as it was: no act, the hash stands for the content
            "UPDATE event_log SET value = NULL, redacted_at = now() WHERE position = 2"
        )
        applied = await db.migrate_url(fresh_database, "intake", HERE / "migrations")
        assert applied[0] == "0005_ledger_acts"  # the cut-over, then any later migrations
        key = ledger_acts.LedgerKey.ephemeral()
        assert await ledger_acts.sign_cutover(conn, key)  # what intake does when it starts
        assert not await ledger_acts.sign_cutover(conn, key)  # once
        new = uuid.uuid4()
        await conn.execute(  # as intake logs a signal since migration 0008: in its outbox
            "INSERT INTO outbox (topic, key, value, subject) VALUES ($1, 'straat', $2, $3)",
            topics.SIGNALS_ACCEPTED,
            _accepted(str(new)),
            str(new),
        )
        assert await ledger.seal(conn) == 1
        await ledger_acts.checkpoint(conn, key, datetime.now(UTC))

        result = await ledger_verify.verify(conn, [key.public])
        assert result.intact, result.problem
        assert (result.sealed, result.v1_rows, result.checkpoints) == (4, 3, 1)
        acts = await conn.fetch("SELECT n, kind, position, detail FROM ledger_acts ORDER BY n")
        assert [(a["kind"], a["position"]) for a in acts] == [
            ("cutover", 3),
            ("redaction", 2),  # the v1 redaction, recorded as such at the cut-over
            *[("trail-checkpoint", 0)] * 4,  # the trails' heads (empty here) with the checkpoint
            ("checkpoint", 4),
        ]
        assert acts[1]["detail"] == ledger_acts.V1_REDACTED
        # The new row is under v2: its signal_id cannot be changed unnoticed.
        await conn.execute(
            "UPDATE event_log SET signal_id = $1 WHERE position = 4", str(uuid.uuid4())
        )
        result = await ledger_verify.verify(conn, [key.public])
        assert (result.broken_position, result.v1_rows) == (4, 3)
        assert result.problem and result.problem.startswith("its signal_id was changed")
        await conn.execute(
            "UPDATE event_log SET signal_id = (convert_from(value, 'UTF8')::jsonb"
            " ->> 'subject')::uuid WHERE position = 4"
        )
        # A v1 row redacted by hand after the cut-over: no act accounts for it.
        await conn.execute(
            "UPDATE event_log SET value = NULL, redacted_at = now() WHERE position = 3"
        )
        result = await ledger_verify.verify(conn, [key.public])
        assert result.broken_position == 3
        assert (
            result.problem == "its content was removed by hand: no signed redaction act records it"
        )
        # Moving the boundary (to verify more rows under the weaker v1) breaks act 1.
        await conn.execute("UPDATE ledger_acts SET position = 4 WHERE n = 1")
        result = await ledger_verify.verify(conn, [key.public])
        assert (result.broken_act, result.problem) == (1, "it was changed after it was signed")
    finally:
        await conn.close()
