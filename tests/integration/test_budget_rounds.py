"""Real pabulib elections imported as rounds into a fresh database, decided and stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from services.budget.cli import app
from services.budget.domain import Reason
from services.budget.pb_rounds import decide_round, import_pb_file
from services.budget.round_store import RoundConflictError

PABULIB = Path("/work/shared/data/pabulib")
ASSEN = PABULIB / "Netherlands_Assen_2024.pb"


async def budget_conn(url: str) -> asyncpg.Connection:
    conn: asyncpg.Connection = await asyncpg.connect(url, server_settings={"search_path": "budget"})
    return conn


async def cli(*args: str, url: str) -> str:
    """Run `wijkbus budget ...` (in a thread: the command runs its own event loop)."""
    result = await asyncio.to_thread(
        CliRunner().invoke, app, list(args), env={"DATABASE_URL": url, "COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    return result.output


async def test_assen_imported_twice_is_one_round_and_decides_to_the_official_winners(
    fresh_database: str,
) -> None:
    first = await cli("import-pb", str(ASSEN), url=fresh_database)
    again = await cli("import-pb", str(ASSEN), url=fresh_database)
    assert "pb:Netherlands_Assen_2024: imported (14 projects, 84 ballots)" in first
    assert "already imported, nothing changed" in again

    decided = await cli("decide", "pb:Netherlands_Assen_2024", url=fresh_database)
    await cli("decide", "pb:Netherlands_Assen_2024", url=fresh_database)
    assert "equalshares/add1" in decided

    conn = await budget_conn(fresh_database)
    try:
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM rounds) AS rounds,"
            " (SELECT count(*) FROM round_projects) AS projects,"
            " (SELECT count(*) FROM round_ballots) AS ballots,"
            " (SELECT count(*) FROM round_results) AS results"
        )
        assert dict(counts) == {"rounds": 1, "projects": 14, "ballots": 84, "results": 14}
        rows = await conn.fetch(
            "SELECT project_id, votes, selected, selection_rank, reason FROM round_results"
        )
        decision = await conn.fetchrow("SELECT rule, spent FROM round_decisions")
    finally:
        await conn.close()
    official = {"3", "9", "2", "11", "13", "14", "5", "6", "12"}
    assert {r["project_id"] for r in rows if r["selected"]} == official
    assert sorted(r["selection_rank"] for r in rows if r["selected"]) == list(range(1, 10))
    by_id = {r["project_id"]: r for r in rows}
    assert (by_id["3"]["votes"], by_id["3"]["reason"]) == (43, Reason.GEKOZEN)
    assert by_id["8"]["reason"] == Reason.PAST_NIET  # 40,000 of the 23,300 left
    assert by_id["7"]["reason"] == Reason.TE_WEINIG_STEUN
    assert (decision["rule"], decision["spent"]) == ("equalshares/add1", 76700)


async def test_a_ballot_can_never_be_counted_twice(fresh_database: str) -> None:
    round_id, _, _ = await import_pb_file(fresh_database, ASSEN, "assen-dubbel")
    conn = await budget_conn(fresh_database)
    try:
        voter = await conn.fetchval("SELECT min(voter_id) FROM round_ballots")
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "INSERT INTO round_ballots (round_id, voter_id) VALUES ($1, $2)", round_id, voter
            )
    finally:
        await conn.close()


async def test_a_different_file_under_an_existing_round_id_is_refused(
    fresh_database: str,
) -> None:
    await import_pb_file(fresh_database, ASSEN, "ronde-1")
    with pytest.raises(RoundConflictError):
        await import_pb_file(fresh_database, PABULIB / "Netherlands_Amsterdam_643.pb", "ronde-1")


async def test_a_greedy_round_with_category_caps_stores_why_each_project_won_or_lost(
    fresh_database: str,
) -> None:
    round_id, _, _ = await import_pb_file(
        fresh_database, PABULIB / "Netherlands_Amsterdam_179.pb", None
    )
    outcome = (await decide_round(fresh_database, round_id, None)).outcome
    conn = await budget_conn(fresh_database)
    try:
        stored = {
            r["project_id"]: r["reason"]
            for r in await conn.fetch("SELECT project_id, reason FROM round_results")
        }
    finally:
        await conn.close()
    assert stored == {r.project_id: r.reason for r in outcome.results}
    assert Reason.GEKOZEN_RESTBUDGET in stored.values()
    assert outcome.spent <= 250000


async def test_two_imports_of_one_file_at_once_store_the_ballots_once(fresh_database: str) -> None:
    path = PABULIB / "Netherlands_Amsterdam_619.pb"
    results = await asyncio.gather(
        *(import_pb_file(fresh_database, path, "gelijk") for _ in range(2))
    )
    assert sorted(r.created for _, r, _ in results) == [False, True]
    conn = await budget_conn(fresh_database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM round_ballots") == 865
    finally:
        await conn.close()


async def test_deciding_an_unknown_round_fails_with_a_clear_message(fresh_database: str) -> None:
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["decide", "bestaat-niet"], env={"DATABASE_URL": fresh_database}
    )
    assert result.exit_code == 1
    assert "not decided: no round bestaat-niet" in result.output
