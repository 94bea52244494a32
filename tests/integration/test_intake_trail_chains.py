"""What a signal's trail shows besides the event log is chained too: received events, reads of
sealed persons, retention's actions and erasures. An edit, a removed row in the middle or
removed newest rows (after a checkpoint) fail `wijkbus audit verify`, naming the table."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from services.intake import trails
from tests.integration.test_intake_audit import (
    _env,
    fetchval,
    send_signals,
    signing_intake,
    wijkbus,
)
from tests.support import eventually, unique
from tools.devstack import DemoCredentials

__all__ = ["signing_intake"]


async def _all_sealed(url: str, table: str, count: int) -> None:
    async def sealed() -> bool:
        n = await fetchval(url, f"SELECT count(*) FROM intake.{table} WHERE position IS NOT NULL")
        return bool(n == count)

    await eventually(sealed, what=f"{count} {table} rows sealed")


async def _read_person(http: httpx.AsyncClient, creds: DemoCredentials, signal_id: str) -> None:
    """Ask for a signal's person as the police (refused or not: the read is recorded)."""
    auth = {"Authorization": f"Bearer {creds.api_keys['politie-groningen']}"}
    response = await http.get(f"/api/v1/signals/{signal_id}/person", headers=auth)
    assert response.status_code in (403, 404, 410), response.text


async def test_received_events_and_vault_reads_are_chained_and_an_edit_fails_verify(
    signing_intake: tuple[httpx.AsyncClient, DemoCredentials, Any], fresh_database: str
) -> None:
    http, creds, _ = signing_intake
    ids = await send_signals(http, creds, unique("Ketenstraat"), 3)
    for signal_id in ids:
        await _read_person(http, creds, signal_id)
    await _all_sealed(fresh_database, "received_events", 3)
    await _all_sealed(fresh_database, "vault_reads", 3)
    env = _env(fresh_database)
    code, output = await wijkbus("audit", "verify", env=env)
    assert code == 0, output
    assert "trails intact: received_events 3 rows, vault_reads 3 rows" in output

    # Another partner's name on the second read, by hand: the trail would show a false reader.
    await fetchval(
        fresh_database, "UPDATE intake.vault_reads SET partner_id = 'gemeente' WHERE position = 2"
    )
    code, output = await wijkbus("audit", "verify", env=env)
    assert code == 1, output
    assert "BROKEN at vault_reads chain row 2: its content was changed after it was sealed" in (
        output
    )
    assert "the 1 vault_reads rows before it" in output


async def test_a_row_removed_from_the_middle_of_a_trail_fails_verify(
    signing_intake: tuple[httpx.AsyncClient, DemoCredentials, Any], fresh_database: str
) -> None:
    http, creds, _ = signing_intake
    await send_signals(http, creds, unique("Gatstraat"), 3)
    await _all_sealed(fresh_database, "received_events", 3)
    await fetchval(fresh_database, "DELETE FROM intake.received_events WHERE position = 2")
    code, output = await wijkbus("audit", "verify", env=_env(fresh_database))
    assert code == 1, output
    assert "BROKEN at received_events chain row 2: it is missing: the chain jumps from 1 to 3" in (
        output
    )


async def test_removing_a_trails_newest_rows_after_a_checkpoint_fails_verify_and_checkpoints(
    signing_intake: tuple[httpx.AsyncClient, DemoCredentials, Any], fresh_database: str
) -> None:
    http, creds, app = signing_intake
    checkpointer = app.state.background.checkpointer
    await send_signals(http, creds, unique("Kopstraat"), 4)
    await _all_sealed(fresh_database, "received_events", 4)
    act = await checkpointer.run_once()
    conn = await asyncpg.connect(fresh_database, server_settings={"search_path": "intake"})
    try:
        signed = await conn.fetch(
            "SELECT detail, position FROM ledger_acts WHERE kind = 'trail-checkpoint'"
            " AND n BETWEEN $1 AND $2 ORDER BY n",
            act.n - len(trails.TRAILS),
            act.n - 1,
        )
    finally:
        await conn.close()
    assert {r["detail"]: r["position"] for r in signed} == {
        "received_events": 4,
        "vault_reads": 0,
        "retention_log": 0,
        "vault_erasures": 0,
    }
    assert [r["detail"] for r in signed] == [t.table for t in trails.TRAILS]

    await fetchval(fresh_database, "DELETE FROM intake.received_events WHERE position > 2")
    code, output = await wijkbus("audit", "verify", env=_env(fresh_database))
    assert code == 1, output
    assert (
        "BROKEN at received_events chain row 4: a signed checkpoint vouches for row 4, but the"
        " chain ends at row 2: its newest rows were removed"
    ) in output
    try:
        await checkpointer.run_once()
    except RuntimeError as exc:
        assert "received_events row 4 no longer has the hash act" in str(exc)
    else:
        raise AssertionError("a checkpoint over a trail that lost rows was signed")
