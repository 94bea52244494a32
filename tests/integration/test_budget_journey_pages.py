"""The resident's journey on plain HTML pages: propose with the code, follow its status; the
operator admits, declines or withdraws on the dashboard (login + anti-CSRF token)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx

from tests.integration.test_budget_support import OPERATOR, TOKEN, Buurt, running_buurt
from tests.support import eventually

PROPOSAL = {
    "titel": "Bankje bij de speeltuin",
    "beschrijving": "Een bankje voor ouders.",
    "kosten": "1.250,50",
    "naam": "Anna de Vries",
    "email": "anna@example.nl",
    "telefoon": "",
}


async def propose(b: Buurt, code: str, **fields: str) -> httpx.Response:
    """Send the proposal form with a code."""
    return await b.http.post("/buurt/voorstel/indienen", data={"code": code, **PROPOSAL, **fields})


@asynccontextmanager
async def operator(b: Buurt) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A logged-in operator's browser session and the dashboard's form token."""
    async with httpx.AsyncClient(base_url=b.url, timeout=30) as session:
        login = await session.post("/login", data={"token": TOKEN, "next": "/dashboard"})
        assert login.status_code == 303
        page = await session.get("/dashboard")
        found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert found, "the dashboard carries a form token"
        yield session, found.group(1)


async def test_a_resident_proposes_on_the_form_and_sees_the_status_the_operator_gives_it(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with running_buurt(fresh_database, kafka_bootstrap) as b:
        form = await b.http.post("/buurt/voorstel", data={"code": b.codes[2]})
        assert form.status_code == 200 and form.headers["cache-control"] == "no-store"
        assert '<label for="titel">Titel' in form.text

        sent = await propose(b, b.codes[2])
        assert sent.status_code == 200, sent.text
        assert "Uw voorstel “Bankje bij de speeltuin” (€ 1.250,50) is ontvangen" in sent.text
        assert 'id="status">voorgesteld<' in sent.text
        rows = await b.fetch(
            "SELECT initiative_id::text, cost_cents, status, contact_sealed,"
            " proposed_by FROM initiatives"
        )
        assert [(r["cost_cents"], r["status"]) for r in rows] == [(125050, "voorgesteld")]
        assert b"Anna" not in bytes(rows[0]["contact_sealed"])  # sealed, not in clear
        assert rows[0]["proposed_by"].startswith("hh_")
        initiative_id = rows[0]["initiative_id"]
        contact = await b.http.get(f"/api/v1/initiatives/{initiative_id}/contact", headers=OPERATOR)
        assert contact.json()["email"] == "anna@example.nl"

        mine = await b.http.post("/buurt", data={"code": b.codes[2]})
        assert "Bankje bij de speeltuin</strong> (€ 1.250,50): voorgesteld" in mine.text
        other = await b.http.post("/buurt", data={"code": b.codes[3]})
        assert "U heeft dit jaar nog geen initiatief voorgesteld" in other.text

        async with operator(b) as (session, csrf):
            forged = await session.post(
                f"/dashboard/initiatieven/{initiative_id}/afwijzen", data={"reason": "Nee."}
            )
            assert forged.status_code == 403  # a cross-site form has the cookie, not the token
            empty = await session.post(
                f"/dashboard/initiatieven/{initiative_id}/afwijzen",
                data={"csrf_token": csrf, "reason": " "},
            )
            assert empty.status_code == 400
            assert (
                f'aria-describedby="reason-{initiative_id}-uitleg reason-{initiative_id}-fout"'
                in empty.text
            )
            declined = await session.post(
                f"/dashboard/initiatieven/{initiative_id}/afwijzen",
                data={"csrf_token": csrf, "reason": "Dit valt buiten het buurtbudget."},
            )
            assert declined.status_code == 303
            again = await session.post(
                f"/dashboard/initiatieven/{initiative_id}/intrekken", data={"csrf_token": csrf}
            )
            assert again.status_code == 409
            assert "Het initiatief is al afgewezen." in again.text

        mine = await b.http.post("/buurt", data={"code": b.codes[2]})
        assert "afgewezen. Reden: Dit valt buiten het buurtbudget." in mine.text
        events = await b.events(initiative_id)
        declined_event = events[-1]
        assert declined_event["type"].endswith("initiative-declined")
        assert declined_event["data"]["reason"] == "Dit valt buiten het buurtbudget."
        assert declined_event["data"]["title"] == "Bankje bij de speeltuin"
        assert "Anna" not in str(events) and b.codes[2] not in str(events)


async def test_the_operator_admits_and_withdraws_on_the_dashboard_and_residents_see_it(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with running_buurt(fresh_database, kafka_bootstrap) as b:
        await propose(b, b.codes[0])
        await propose(b, b.codes[1], titel="Moestuin", kosten="400")
        ids = {
            r["title"]: r["initiative_id"]
            for r in await b.fetch("SELECT title, initiative_id::text FROM initiatives")
        }
        anonymous = await b.http.post(f"/dashboard/initiatieven/{ids['Moestuin']}/intrekken")
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")

        async with operator(b) as (session, csrf):
            past = await session.post(
                f"/dashboard/initiatieven/{ids['Moestuin']}/toelaten",
                data={"csrf_token": csrf, "deadline": "2026-01-01"},
            )
            assert past.status_code == 409
            assert "De deadline moet in de toekomst liggen." in past.text
            assert f'id="deadline-{ids["Moestuin"]}" name="deadline"' in past.text
            for title in ids:
                admitted = await session.post(
                    f"/dashboard/initiatieven/{ids[title]}/toelaten",
                    data={"csrf_token": csrf, "deadline": "2026-12-24"},
                )
                assert admitted.status_code == 303
            supported = await b.support(b.codes[3], ids["Moestuin"])
            assert supported.status_code == 201
            withdrawn = await session.post(
                f"/dashboard/initiatieven/{ids['Moestuin']}/intrekken", data={"csrf_token": csrf}
            )
            assert withdrawn.status_code == 303

        page = await b.http.post("/buurt", data={"code": b.codes[1]})
        assert "Moestuin</strong> (€ 400,00): ingetrokken" in page.text
        assert "steunen kan tot 24-12-2026" in page.text  # the bankje, open until then
        rows = await b.fetch("SELECT status, deadline FROM initiatives WHERE title = 'Moestuin'")
        assert rows[0]["status"] == "ingetrokken"
        assert await b.fetch("SELECT 1 FROM supports") == []  # the pledge was released


async def test_every_problem_of_a_proposal_is_shown_at_its_field_and_nothing_is_stored(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with running_buurt(fresh_database, kafka_bootstrap) as b:
        bad = await propose(b, b.codes[0], titel="ab", kosten="tien", naam="", email="anna@")
        assert bad.status_code == 400
        for field in ("titel", "kosten", "naam", "email"):
            assert (
                f'aria-describedby="{field}-uitleg {field}-fout" aria-invalid="true"' in (bad.text)
                or f'aria-describedby="{field}-fout" aria-invalid="true"' in bad.text
            ), field
            assert f'<a href="#{field}">' in bad.text
        assert "Dit is geen geldig e-mailadres" in bad.text
        assert 'value="ab"' in bad.text  # what was typed is kept
        markup = await propose(b, b.codes[0], titel='<b onclick="x">', kosten="")
        assert 'value="&lt;b onclick=&#34;x&#34;&gt;"' in markup.text  # kept, as text
        none = await propose(b, b.codes[0], email="", telefoon="")
        assert "Vul een e-mailadres of een telefoonnummer in" in none.text
        assert await b.fetch("SELECT 1 FROM initiatives") == []
        unknown = await propose(b, "AAAA-BBBB-CCCC-DDDD-EEEE-FF")
        assert unknown.status_code == 403 and "Deze code kennen we niet" in unknown.text


async def test_in_a_vote_year_the_admitted_initiatives_form_the_round_and_closing_decides_them(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with running_buurt(
        fresh_database,
        kafka_bootstrap,
        rule="vote",
        code_failures_burst=100,
        settle_interval_s=0.1,
    ) as b:
        next_door = await propose(b, b.other_codes[0], titel="Speeltuin")  # on no ballot
        assert next_door.status_code == 200
        for title, cost in [
            ("Bomen", "30"),
            ("Bankjes", "25"),
            ("Geveltuinen", "14,50"),
            ("Vuurwerk", "20"),
        ]:
            assert (await propose(b, b.codes[0], titel=title, kosten=cost)).status_code == 200
        ids = {
            r["title"]: r["initiative_id"]
            for r in await b.fetch("SELECT title, initiative_id::text FROM initiatives")
        }
        async with operator(b) as (session, csrf):
            for title in ("Bomen", "Bankjes", "Geveltuinen", "Speeltuin"):
                await session.post(
                    f"/dashboard/initiatieven/{ids[title]}/toelaten",
                    data={"csrf_token": csrf, "deadline": "2026-12-24"},
                )
            page = (await session.get("/dashboard")).text
            assert "3 toegelaten initiatieven (€ 69,50 samen) komen op het stembiljet" in page
            assert "Budget: 5 huishoudens × € 10,00 = € 50,00" in page
            where = {
                "csrf_token": csrf,
                "municipality": "Groningen",
                "year": "2026",
                "buurt_code": b.buurt_code,
                "rule": "greedy",
            }
            untitled = await session.post("/dashboard/rondes", data={**where, "title": ""})
            assert untitled.status_code == 400 and "Geef de stemronde een titel." in untitled.text
            opened = await session.post("/dashboard/rondes", data={**where, "title": "Groen"})
            assert opened.status_code == 303
            round_id = f"Groningen:2026:{b.buurt_code}:1"
            projects = await b.fetch(
                "SELECT project_id, cost FROM round_projects WHERE round_id = $1 ORDER BY cost",
                round_id,
            )
            assert [(p["project_id"], p["cost"]) for p in projects] == [
                (ids["Geveltuinen"], 15),
                (ids["Bankjes"], 25),
                (ids["Bomen"], 30),
            ]  # rounded up to whole euros; the declined-to-be Vuurwerk is not on it
            budget = await b.fetch("SELECT budget FROM rounds WHERE round_id = $1", round_id)
            assert budget[0]["budget"] == 50
            formable = (await session.get("/dashboard")).text
            assert f"Groningen · buurt {b.buurt_code} · 2026" not in formable  # it has its round
            assert "Groningen · buurt BU00149999 · 2026" in formable  # next door has none yet

            ballots = [
                ("Bomen", "Bankjes"),
                ("Bomen", "Bankjes"),
                ("Bomen", "Geveltuinen"),
                ("Bomen", "Bankjes", "Geveltuinen"),
            ]
            for code, ballot in zip(b.codes, ballots, strict=False):
                page = await b.http.post("/buurt", data={"code": code})
                assert "Stemronde: Groen" in page.text
                voted = await b.http.post(
                    "/buurt/stem",
                    data={"code": code, "round_id": round_id, "project": [ids[t] for t in ballot]},
                )
                assert voted.status_code == 200, voted.text
            assert (await b.http.get(f"/buurt/uitslag/{b.buurt_code}")).status_code == 404

            b.clock.now += timedelta(days=30)  # past the deadlines: next door's lapses, ...

            async def lapsed() -> list[str]:
                rows = await b.fetch("SELECT status FROM initiatives WHERE title = 'Speeltuin'")
                return [r["status"] for r in rows if r["status"] != "open"]

            assert await eventually(lapsed, timeout=10, what="the deadline settler") == [
                "niet-gefinancierd"
            ]
            on_ballot = await b.fetch(
                "SELECT status FROM initiatives WHERE title IN ('Bomen', 'Bankjes', 'Geveltuinen')"
            )
            assert {r["status"] for r in on_ballot} == {"open"}  # ... the round decides these

            closed = await session.post(
                f"/dashboard/rondes/{round_id}/sluiten", data={"csrf_token": csrf}
            )
            assert closed.status_code == 303
            twice = await session.post(
                f"/dashboard/rondes/{round_id}/sluiten", data={"csrf_token": csrf}
            )
            assert twice.status_code == 409
            assert "Deze stemronde is niet (meer) open." in twice.text

        statuses = {
            r["title"]: r["status"]
            for r in await b.fetch(
                "SELECT title, status FROM initiatives WHERE buurt_code = $1", b.buurt_code
            )
        }
        assert statuses == {
            "Bomen": "gefinancierd",
            "Bankjes": "niet-gefinancierd",
            "Geveltuinen": "gefinancierd",
            "Vuurwerk": "voorgesteld",
        }
        funded = [e for e in await b.events(ids["Bomen"]) if e["type"].endswith("funded")]
        assert funded[-1]["data"]["supporters"] == 4
        results = await b.http.get(f"/buurt/uitslag/{b.buurt_code}")
        assert results.status_code == 200
        spent = "4 huishoudens hebben gestemd. Budget €&nbsp;50, waarvan €&nbsp;45 is besteed."
        assert spent in results.text
        bankjes = r"Bankjes</th><td[^>]*>€&nbsp;25</td><td[^>]*>3</td><td>Niet gekozen"
        assert re.search(bankjes, results.text)
        page = await b.http.post("/buurt", data={"code": b.codes[0]})
        assert f'href="/buurt/uitslag/{b.buurt_code}"' in page.text
