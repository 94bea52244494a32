"""Budget counts and logs every vote (a ballot, a support) — never the code that cast it."""

from __future__ import annotations

import structlog
from prometheus_client import REGISTRY

from tests.integration.test_budget_ballots import open_round, vote
from tests.integration.test_budget_support import running_buurt


def votes(kind: str) -> float:
    return REGISTRY.get_sample_value("wijkbus_budget_votes_total", {"kind": kind}) or 0.0


async def test_each_ballot_and_support_is_counted_and_logged_and_a_refused_one_is_not(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    before = {kind: votes(kind) for kind in ("ballot", "support")}
    with structlog.testing.capture_logs() as logged:
        async with running_buurt(fresh_database, kafka_bootstrap, rule="vote") as b:
            await open_round(b, "telling-2026")
            assert await vote(b, b.codes[0], "telling-2026", "bomen") == 201
            assert await vote(b, b.codes[0], "telling-2026", "bankjes") == 409  # used: no vote
            assert await vote(b, b.codes[1], "telling-2026", "bankjes") == 201
            codes = b.codes
    assert votes("ballot") == before["ballot"] + 2
    assert votes("support") == before["support"]
    cast = [e for e in logged if e["event"] == "ballot cast"]
    assert [(e["round_id"], e["buurt_code"]) for e in cast] == [("telling-2026", b.buurt_code)] * 2
    assert not [code for code in codes if code in repr(logged)]


async def test_a_support_is_counted_once(fresh_database: str, kafka_bootstrap: str) -> None:
    before = votes("support")
    with structlog.testing.capture_logs() as logged:
        async with running_buurt(fresh_database, kafka_bootstrap) as b:
            bankje = await b.propose(5000)
            assert (await b.support(b.codes[0], bankje)).status_code == 201
            assert (await b.support(b.codes[0], bankje)).status_code == 409
    assert votes("support") == before + 1
    [given] = [e for e in logged if e["event"] == "support given"]
    assert (given["initiative_id"], given["funded"]) == (bankje, False)
