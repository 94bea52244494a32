"""`wijkbus replay budget`: budget's published events alone reproduce its initiatives and ballot
counts, now and at a moment in the past; a live row altered by hand is reported."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from services.budget import replay
from tests.integration.test_budget_ballots import open_round, vote
from tests.integration.test_budget_support import CONTACT, OPERATOR, running_buurt
from tests.integration.test_intake_audit import fetchval, wijkbus
from tests.support import demo_registry, eventually
from tools.devstack import write_partner_registry
from wijkbus.infra import EmbeddedBroker

ROUND = "groen-replay"


async def budget_state(url: str, schema: str) -> dict[str, Any]:
    """Per initiative (status, supporters) and per round the ballots, live or replayed."""
    conn = await asyncpg.connect(url)
    try:
        if schema == "budget":
            initiatives = await conn.fetch(
                "SELECT initiative_id::text AS id, status, (SELECT count(*) FROM budget.supports s"
                "  WHERE s.initiative_id = i.initiative_id) AS n FROM budget.initiatives i"
            )
            ballots = await conn.fetch(
                "SELECT round_id, count(*) AS n FROM budget.round_ballots GROUP BY round_id"
            )
        else:
            initiatives = await conn.fetch(
                "SELECT initiative_id::text AS id, status, supporters AS n"
                f" FROM {schema}.initiatives"
            )
            ballots = await conn.fetch(f"SELECT round_id, ballots AS n FROM {schema}.rounds")
        return {
            "initiatives": {r["id"]: (r["status"], r["n"]) for r in initiatives},
            "ballots": {r["round_id"]: r["n"] for r in ballots},
        }
    finally:
        await conn.close()


async def all_published(url: str) -> None:
    """Wait until budget's relay has published its whole outbox."""
    unsent = "SELECT count(*) = 0 FROM budget.outbox_backlog"
    await eventually(lambda: fetchval(url, unsent), timeout=30, what="budget.events published")


async def test_budget_events_reproduce_its_state_now_and_at_a_moment_in_the_past(
    fresh_database: str, tmp_path: Path
) -> None:
    _, creds = demo_registry()
    partners = write_partner_registry(tmp_path / "partners.yaml", creds)
    # A broker of its own even where the backend's is shared: the replay reads every record of
    # budget.events, and another test's initiatives are not in this database.
    with EmbeddedBroker() as broker:
        env = {
            "DATABASE_URL": fresh_database,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "WIJKBUS_PARTNERS": str(partners),
        }
        async with running_buurt(
            fresh_database, broker.bootstrap, households=6, code_failures_burst=100
        ) as b:
            # Until the moment: 15 events.
            bankje = await b.propose(2000, "Bankje")  # two pledges of €10 cover it
            moestuin = await b.propose(5000, "Moestuin")
            feest = await b.propose(7000, "Buurtfeest")
            proposed = await b.http.post("/api/v1/initiatives", json={
                "code": b.codes[0], "title": "Skatebaan", "cost_cents": 300, "contact": CONTACT,
            })  # fmt: skip
            skatebaan = proposed.json()["initiative_id"]
            for code, initiative in [(1, bankje), (2, bankje), (3, moestuin), (4, moestuin),
                                     (5, feest)]:  # fmt: skip
                assert (await b.support(b.codes[code], initiative)).status_code == 201
            await open_round(b, ROUND)
            assert await vote(b, b.codes[0], ROUND, "bomen") == 201
            assert await vote(b, b.codes[1], ROUND, "bankjes", "geveltuin") == 201
            moment = b.clock.now
            then = await budget_state(fresh_database, "budget")
            assert then == {
                "initiatives": {
                    bankje: ("gefinancierd", 2), moestuin: ("open", 2),
                    feest: ("open", 1), skatebaan: ("voorgesteld", 0),
                },
                "ballots": {ROUND: 2},
            }  # fmt: skip

            # After it: 5 more events (the last one the round's decision).
            b.clock.now += timedelta(hours=1)
            taken_back = await b.http.post(
                "/api/v1/supports/withdraw", json={"code": b.codes[4], "initiative_id": moestuin}
            )
            assert taken_back.status_code == 200, taken_back.text
            declined = await b.http.post(
                f"/api/v1/initiatives/{skatebaan}/decline",
                json={"reason": "geen plek in deze buurt"},
                headers=OPERATOR,
            )
            assert declined.status_code == 200, declined.text
            withdrawn = await b.http.post(f"/api/v1/initiatives/{feest}/withdraw", headers=OPERATOR)
            assert withdrawn.status_code == 200, withdrawn.text
            assert await vote(b, b.codes[2], ROUND, "bomen") == 201
            await open_round(b, "zonder-stemmen")  # decided without a ballot: RoundDecided
            closed = await b.http.post("/api/v1/rounds/zonder-stemmen/close", headers=OPERATOR)
            assert closed.status_code == 200, closed.text
            now = await budget_state(fresh_database, "budget")
            assert now == {
                "initiatives": {
                    bankje: ("gefinancierd", 2), moestuin: ("open", 1),
                    feest: ("ingetrokken", 0), skatebaan: ("afgewezen", 0),
                },
                "ballots": {ROUND: 3},
            }  # fmt: skip

            assert await fetchval(fresh_database, "SELECT count(*) FROM budget.outbox") == 20
            await all_published(fresh_database)

            code, output = await wijkbus("replay", "budget", "--into", "replay_now", env=env)
            assert code == 0, output
            assert "20 records read, 20 handled, 0 duplicates skipped" in output
            assert "no differences: the live projection equals the replay in replay_now" in output
            assert await budget_state(fresh_database, "replay_now") == now
            known = await fetchval(
                fresh_database,
                "SELECT array_agg(funding_rule || ' ' || cost_cents ORDER BY cost_cents)"
                " FROM replay_now.initiatives",
            )
            assert known == ["pledge 300", "pledge 2000", "pledge 5000", "pledge 7000"]

            code, output = await wijkbus(
                "replay", "budget", "--into", "replay_then", "--until", moment.isoformat(), env=env
            )
            assert code == 0, output
            assert "15 handled, 0 duplicates skipped, 5 after --until left out" in output
            assert await budget_state(fresh_database, "replay_then") == then

            # Live moves on after the replay's end: newer rows are left out, not differences.
            b.clock.now += timedelta(hours=1)
            await b.propose(1500, "Plantenbak")
            assert await vote(b, b.codes[3], ROUND, "geveltuin") == 201
            assert await replay.compare(fresh_database, "replay_now") == ([], 2)
            await all_published(fresh_database)

            # Someone "corrects" the live state by hand: a status, and a lost ballot.
            await fetchval(
                fresh_database,
                "UPDATE budget.initiatives SET status = 'gefinancierd'"
                " WHERE initiative_id = $1::uuid",
                moestuin,
            )
            await fetchval(
                fresh_database,
                "DELETE FROM budget.round_ballots WHERE round_id = $1 AND cast_at = $2",
                ROUND,
                moment + timedelta(hours=1),
            )
            code, output = await wijkbus("replay", "budget", "--into", "replay_check", env=env)
            assert code == 1, output
            assert "2 differences between budget and replay_check" in output
            assert (
                f"initiatives {moestuin}: live ('gefinancierd', 1, 'pledge', 5000),"
                " replay ('open', 1, 'pledge', 5000)"
            ) in output
            assert f"ballots {ROUND}: live 3, replay 4" in output

            for into, reason in [("replay_now", "not empty"), ("budget", "the live schema")]:
                code, output = await wijkbus("replay", "budget", "--into", into, env=env)
                assert code == 2, output
                assert reason in output
