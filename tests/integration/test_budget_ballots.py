"""A vote round for one buurt: approval ballots under a per-round pseudonym, once per household."""

from __future__ import annotations

import asyncio

from tests.integration.test_budget_support import OPERATOR, Buurt, running_buurt


async def open_round(b: Buurt, round_id: str) -> None:
    """An operator opens a round of €1000 over three projects (at most two per ballot)."""
    opened = await b.http.post("/api/v1/rounds", headers=OPERATOR, json={
        "round_id": round_id, "title": "Groen in de buurt", "municipality": "Groningen",
        "year": 2026, "buurt_code": b.buurt_code, "budget": 1000, "rule": "greedy",
        "min_length": 1, "max_length": 2,
        "projects": [
            {"project_id": "bomen", "title": "Bomen", "cost": 600},
            {"project_id": "bankjes", "title": "Bankjes", "cost": 500},
            {"project_id": "geveltuin", "title": "Geveltuinen", "cost": 300},
        ],
    })  # fmt: skip
    assert opened.status_code == 201, opened.text


async def vote(b: Buurt, code: str, round_id: str, *projects: str) -> int:
    """Cast a ballot; the status code."""
    answer = await b.http.post(
        "/api/v1/ballots", json={"code": code, "round_id": round_id, "project_ids": list(projects)}
    )
    return answer.status_code


async def test_households_vote_once_and_the_round_is_decided_with_reasons(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with running_buurt(
        fresh_database, kafka_bootstrap, households=5, rule="vote", code_failures_burst=100
    ) as b:
        await open_round(b, "groen-2026")
        ballots = [("bomen", "bankjes"), ("bankjes", "geveltuin"), ("bankjes",), ("bomen",)]
        for code, ballot in zip(b.codes, ballots, strict=False):
            assert await vote(b, code, "groen-2026", *ballot) == 201
        assert await vote(b, b.codes[4], "groen-2026", "bomen", "bankjes", "geveltuin") == 400
        assert await vote(b, b.codes[4], "groen-2026", "zwembad") == 400
        assert await vote(b, b.other_codes[0], "groen-2026", "bomen") == 404

        again = await asyncio.gather(
            *(vote(b, b.codes[4], "groen-2026", "geveltuin") for _ in range(20))
        )
        assert sorted(again) == [201] + [409] * 19

        voters = await b.fetch("SELECT voter_id FROM round_ballots WHERE round_id = 'groen-2026'")
        household_ids = await b.fetch("SELECT household_id::text AS h FROM households")
        assert len(voters) == 5
        assert all(v["voter_id"].startswith("hh_") for v in voters)
        assert not {v["voter_id"] for v in voters} & {h["h"] for h in household_ids}

        closed = await b.http.post("/api/v1/rounds/groen-2026/close", headers=OPERATOR)
        assert closed.status_code == 200
        assert await vote(b, b.codes[0], "groen-2026", "bomen") == 409
        results = await b.fetch(
            "SELECT project_id, votes, selected, reason FROM round_results ORDER BY project_id"
        )
        assert [tuple(r) for r in results] == [
            ("bankjes", 3, True, "gekozen"),
            ("bomen", 2, False, "past niet meer in het budget"),
            ("geveltuin", 2, True, "gekozen"),
        ]
        page = (await b.http.get("/dashboard", headers=OPERATOR)).text
        assert "Groen in de buurt" in page and "past niet meer in het budget" in page


async def test_a_resident_votes_on_the_plain_html_page_and_only_once(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with running_buurt(fresh_database, kafka_bootstrap, rule="vote") as b:
        await open_round(b, "groen-html")
        page = await b.http.post("/buurt", data={"code": b.codes[0]})
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert "Stemronde: Groen in de buurt" in page.text
        assert 'name="project" value="bomen"' in page.text

        form = {"code": b.codes[0], "round_id": "groen-html", "project": ["bomen", "geveltuin"]}
        voted = await b.http.post("/buurt/stem", data=form)
        assert voted.status_code == 200
        assert "Uw stem is geregistreerd" in voted.text
        again = await b.http.post("/buurt/stem", data=form)
        assert again.status_code == 409
        assert "heeft in deze ronde al gestemd" in again.text
        approvals = await b.fetch("SELECT project_id FROM round_approvals ORDER BY project_id")
        assert [r["project_id"] for r in approvals] == ["bomen", "geveltuin"]
