"""A round's META rules survive import, decide as the domain does, and bind residents' ballots."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from services.budget.cli import app
from services.budget.domain import Leftover, decide
from services.budget.pabulib import parse_path, to_election
from tests.integration.test_budget_ballots import vote
from tests.integration.test_budget_rounds import budget_conn, cli
from tests.integration.test_budget_support import OPERATOR, running_buurt

PABULIB = Path("/work/shared/data/pabulib")
NEIGHBOURHOODS = f"""META
key;value
description;Buurtbudget Twee Buurten
budget;1000
vote_type;approval
rule;greedy
max_length;3
categories;Groen,Spelen
max_length_per_category;1
max_sum_cost_per_category;700,600
neighborhoods;Noord,Zuid
budget_per_neighborhood;600,400
leftover_budget;{Leftover.PARTIAL.value}
comment;#1: The budget_per_neighborhood also bounds what the leftover budget funds.
PROJECTS
project_id;cost;name;category;neighborhood
n1;500;Bomen Noord;Groen;Noord
n2;300;Speeltuin Noord;Spelen;Noord
z1;250;Geveltuinen Zuid;Groen;Zuid
z2;300;Bankjes Zuid;Spelen;Zuid
VOTES
voter_id;vote
v1;n1,n2
v2;n1,z2
v3;n1,n2
v4;z1,n2
v5;z1
"""


async def test_neighbourhood_caps_and_a_partial_leftover_are_stored_published_and_shown(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    path = tmp_path / "twee_buurten.pb"
    path.write_text(NEIGHBOURHOODS, encoding="utf-8")
    expected = decide(to_election(parse_path(path)), "greedy")
    # n1 (3 votes, 500 of Noord's 600) and z1 (2, Zuid 250 of 400) win; n2 (3) is stopped by
    # Noord's cap and gets only the 100 Noord has left, within the cap as the comment says.
    assert expected.selected == ("n1", "z1")
    assert (expected.partial and expected.partial.project_id, expected.spent) == ("n2", 850)

    async with running_buurt(fresh_database, kafka_bootstrap, households=3, rule="vote") as b:
        await cli("import-pb", str(path), "--round-id", "twee", url=fresh_database)
        decided = await cli("decide", "twee", url=fresh_database)
        assert "gedeeltelijk gefinancierd: Speeltuin Noord (n2) krijgt" in decided

        decision = (await b.fetch("SELECT * FROM round_decisions WHERE round_id = 'twee'"))[0]
        assert (decision["partial_project_id"], decision["partial_amount"], decision["tie"]) == (
            expected.partial.project_id, expected.partial.amount, expected.tie,
        )  # fmt: skip
        funded = await b.fetch("SELECT project_id, funded FROM round_results ORDER BY project_id")
        assert {r["project_id"]: r["funded"] for r in funded} == {
            r.project_id: r.funded for r in expected.results
        }
        caps = await b.fetch("SELECT attribute, category, cap FROM round_category_caps")
        assert {tuple(c) for c in caps} == {("neighborhood", "Noord", 600),
                                            ("neighborhood", "Zuid", 400)}  # fmt: skip

        [event] = await b.events("twee")
        assert event["type"].endswith(".round-decided")
        assert event["data"] | {"decided_at": None} == {
            "round_id": "twee", "buurt_code": None, "rule": "greedy", "selected": ["n1", "z1"],
            "spent": expected.spent, "partial_project_id": "n2",
            "partial_amount": expected.partial.amount, "tie": False, "decided_at": None,
        }  # fmt: skip

        page = (await b.http.get("/dashboard", headers=OPERATOR)).text
        assert "Gedeeltelijk gefinancierd uit het restbudget: project n2 krijgt € 100,00" in page


async def test_a_ballot_breaking_the_rounds_meta_bounds_is_refused_when_cast(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    path = tmp_path / "twee_buurten.pb"
    path.write_text(NEIGHBOURHOODS, encoding="utf-8")
    async with running_buurt(fresh_database, kafka_bootstrap, households=3, rule="vote") as b:
        await cli("import-pb", str(path), "--round-id", "open", url=fresh_database)
        conn = await budget_conn(fresh_database)
        try:  # the imported round becomes this buurt's open round of the year
            await conn.execute(
                "UPDATE rounds SET municipality = 'Groningen', year = 2026, buurt_code = $1,"
                " status = 'open' WHERE round_id = 'open'",
                b.buurt_code,
            )
        finally:
            await conn.close()
        assert await vote(b, b.codes[0], "open", "n1", "z1") == 400  # two in Groen
        assert await vote(b, b.codes[0], "open", "n1", "z2") == 201
        assert await vote(b, b.codes[1], "open", "n2", "z1", "z2") == 400  # two in Spelen
        refused = await b.http.post("/api/v1/ballots", json={
            "code": b.codes[1], "round_id": "open", "project_ids": ["n2", "z2"]})  # fmt: skip
        assert refused.status_code == 400  # Spelen: 600 allowed, 300 + 300 is fine, but 2 > 1
        assert "hoogstens 1 project(en) in Spelen" in refused.text


async def test_a_file_breaking_its_own_bounds_is_imported_only_when_accepted_and_analysed(
    fresh_database: str,
) -> None:
    path = PABULIB / "Netherlands_Amsterdam_212.pb"
    refused = await asyncio.to_thread(
        CliRunner().invoke, app, ["import-pb", str(path)],
        env={"DATABASE_URL": fresh_database, "COLUMNS": "300"},
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "min_project_cost: 1 (e.g. 16580)" in refused.output
    assert "max_length_per_category" in refused.output

    accepted = await cli("import-pb", str(path), "--accept-breaches", url=fresh_database)
    assert "accepted breaches of META bounds" in accepted
    conn = await budget_conn(fresh_database)
    try:
        approvals = await conn.fetchval("SELECT count(*) FROM round_approvals")
        analysed = await conn.fetchval(
            "SELECT reltuples FROM pg_class WHERE relname = 'round_approvals'"
        )
        stored = json.loads(await conn.fetchval("SELECT meta::text FROM rounds"))
    finally:
        await conn.close()
    # Without ANALYZE a freshly loaded table reports -1 (never analysed).
    assert analysed == approvals
    assert stored["max_length_per_category"] == "3"
