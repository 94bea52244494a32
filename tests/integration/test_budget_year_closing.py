"""Closing a year: open initiatives are settled (funded or not), unspent allowances lapse."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.test_budget_households import cli
from tests.integration.test_budget_support import OPERATOR, running_buurt
from tests.support import eventually


async def test_closing_a_year_settles_initiatives_and_lets_the_rest_lapse(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with running_buurt(fresh_database, kafka_bootstrap, households=6) as b:
        bankje = await b.propose(2000, "Bankje")  # two pledges cover it
        moestuin = await b.propose(5000, "Moestuin")  # one pledge: not enough
        proposed = await b.http.post("/api/v1/initiatives", json={
            "code": b.codes[0], "title": "Nooit toegelaten", "cost_cents": 300,
            "contact": {"name": "Piet", "phone": "06 12345678"},
        })  # fmt: skip
        never_admitted = proposed.json()["initiative_id"]
        teruggetrokken = await b.propose(7000, "Buurtfeest")
        for code in b.codes[:2]:
            assert (await b.support(code, bankje)).status_code == 201
        assert (await b.support(b.codes[2], moestuin)).status_code == 201
        assert (await b.support(b.codes[3], teruggetrokken)).status_code == 201
        withdrawn = await b.http.post(
            f"/api/v1/initiatives/{teruggetrokken}/withdraw", headers=OPERATOR
        )
        assert withdrawn.status_code == 200
        # The pledge to the withdrawn initiative is released: the household may pledge again.
        assert (await b.support(b.codes[3], moestuin)).status_code == 201

        b.clock.now += timedelta(days=30)
        output = await cli(
            "close-year",
            "--year",
            "2026",
            "--municipality",
            "Groningen",
            "--yes",
            url=fresh_database,
        )
        # 6 + 2 households next door, 1000 cents each; the bankje spent 2000.
        assert "8 households, total 8000 cents, spent 2000, lapsed 6000" in output

        rows = await b.fetch(
            "SELECT initiative_id::text, status, reason FROM initiatives ORDER BY title"
        )
        by_id = {r["initiative_id"]: (r["status"], r["reason"]) for r in rows}
        assert by_id[bankje] == ("gefinancierd", "de toezeggingen dekken de kosten")
        assert by_id[moestuin] == ("niet-gefinancierd", "nog €30,00 nodig van de kosten")
        assert by_id[never_admitted][0] == "niet-gefinancierd"
        assert by_id[teruggetrokken][0] == "ingetrokken"
        year = (await b.fetch("SELECT * FROM years"))[0]
        assert (year["status"], year["spent_cents"], year["lapsed_cents"]) == (
            "gesloten",
            2000,
            6000,
        )

        closed = [e for e in await b.events("Groningen:2026")]
        assert [e["type"] for e in closed] == ["nl.wijkaanpak.budget.year-closed"]
        assert closed[0]["data"]["funded"] == 1 and closed[0]["data"]["not_funded"] == 2
        assert [e["type"].rsplit(".", 1)[1] for e in await b.events(moestuin)][-1] == (
            "initiative-not-funded"
        )

        # A closed year takes no more support and cannot be closed twice.
        late = await b.support(b.codes[4], moestuin)
        assert late.status_code == 403
        again = await cli(
            "close-year",
            "--year",
            "2026",
            "--municipality",
            "Groningen",
            "--yes",
            url=fresh_database,
            exit_code=1,
        )
        assert "gesloten" in again

        dashboard = await b.http.get("/dashboard", headers=OPERATOR)
        assert dashboard.status_code == 200
        page = dashboard.text
        assert "Bankje" in page and "gefinancierd" in page and "€ 60,00" in page
        for secret in [*b.codes, "Piet", "06 12345678", "9714AB"]:
            assert secret not in page


async def test_an_initiative_past_its_deadline_is_settled_in_the_background(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with running_buurt(fresh_database, kafka_bootstrap, settle_interval_s=0.1) as b:
        short, covered = await b.propose(5000, "Te duur"), await b.propose(1000, "Goedkoop")
        assert (await b.support(b.codes[1], short)).status_code == 201
        b.clock.now += timedelta(days=15)

        async def settled() -> list[str]:
            rows = await b.fetch(
                "SELECT status FROM initiatives WHERE initiative_id = $1::uuid", short
            )
            return [r["status"] for r in rows if r["status"] != "open"]

        assert await eventually(settled, timeout=10, what="the deadline to settle") == [
            "niet-gefinancierd"
        ]
        late = await b.support(b.codes[2], short)
        assert late.status_code == 409
        assert late.json()["detail"] == "dit initiatief is niet-gefinancierd: steunen kan niet meer"
        rows = await b.fetch(
            "SELECT status FROM initiatives WHERE initiative_id = $1::uuid", covered
        )
        assert rows[0]["status"] == "niet-gefinancierd"  # nobody pledged before the deadline
