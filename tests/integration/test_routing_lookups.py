"""Routing's lookups for integrators: one signal's assignment, the list filtered by signal,
street and buurt, and a street's counts with its thresholds and advice state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.test_routing_flow import Router, serve_routing
from tests.support import unique

RULES = """\
version: "lookups-1"
municipality: Groningen
rules:
  - id: overlast-de-hoogte
    match: {categorie: [overlast], buurt: [BU00140107]}
    responder: politie-groningen
    acknowledge_within_hours: 8
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 48
thresholds:
  - id: wijkhub
    categorie: [overlast]
    window_days: 30
    count: 2
    advice: Bespreek een wijkhub.
"""
OTHER_BUURT = "BU00149999"


@pytest.fixture
async def router(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Router]:
    async with serve_routing(RULES, fresh_database, kafka_bootstrap, tmp_path) as running:
        yield running


async def test_one_signals_assignment_names_its_rule_version_and_deadline(router: Router) -> None:
    signal = router.signal("overlast")
    await router.send(signal)
    await router.assignment(signal.signal_id)
    found = await router.http.get(
        f"/api/v1/assignments/{signal.signal_id}", headers=router.operator
    )
    assert found.status_code == 200, found.text
    body = found.json()
    assert (body["signal_id"], body["partner_id"]) == (signal.signal_id, "politie-groningen")
    assert (body["rule_id"], body["ruleset_version"]) == ("overlast-de-hoogte", "lookups-1")
    assert body["acknowledge_by"] is not None
    assert body["sla"] == "op tijd"
    missing = await router.http.get("/api/v1/assignments/nog-nooit-gezien", headers=router.operator)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_the_list_filters_by_signal_street_and_buurt(router: Router) -> None:
    here = [router.signal("vervuiling") for _ in range(2)]
    elsewhere = router.signal(
        "vervuiling",
        street_key=f"naam:groningen:{unique('elders').lower()}",
        buurt_code=OTHER_BUURT,
    )
    for signal in [*here, elsewhere]:
        await router.send(signal)
    for signal in [*here, elsewhere]:
        await router.assignment(signal.signal_id)

    async def listed(**params: object) -> set[str]:
        answer = await router.http.get(
            "/api/v1/assignments", params=params, headers=router.operator
        )
        assert answer.status_code == 200, answer.text
        return {a["signal_id"] for a in answer.json()["assignments"]}

    assert await listed(signal_id=[here[0].signal_id, elsewhere.signal_id]) == {
        here[0].signal_id,
        elsewhere.signal_id,
    }
    assert await listed(street_key=router.street_key) == {s.signal_id for s in here}
    assert await listed(street_key=elsewhere.street_key) == {elsewhere.signal_id}
    by_buurt = await listed(buurt_code=OTHER_BUURT, limit=1000)
    assert elsewhere.signal_id in by_buurt
    assert not by_buurt & {s.signal_id for s in here}
    bad = await router.http.get(
        "/api/v1/assignments", params={"buurt_code": "Oosterpark"}, headers=router.operator
    )
    assert bad.status_code == 400
    assert [e["field"] for e in bad.json()["errors"]] == ["query.buurt_code"]


async def test_a_street_shows_its_counts_thresholds_and_advice_state(router: Router) -> None:
    first = router.signal("overlast")
    await router.send(first)
    await router.assignment(first.signal_id)
    street = f"/api/v1/streets/{router.street_key}"
    before = (await router.http.get(street, headers=router.operator)).json()
    assert before["counts"] == {"overlast": 1}
    assert before["advice"]["state"] == "none"

    second = router.signal("overlast")
    await router.send(second)
    await router.assignment(second.signal_id)
    crossed = (await router.http.get(street, headers=router.operator)).json()
    assert crossed["total"] == 2
    [threshold] = crossed["thresholds"]
    assert (threshold["threshold_id"], threshold["active"]) == ("wijkhub", True)
    assert threshold["advice"] == "Bespreek een wijkhub."
    assert crossed["advice"]["state"] == "awaiting_decision"
    assert crossed["advice"]["advised_at"] is not None

    declined = await router.http.post(
        f"/api/v1/wijkhubs/advice/{router.street_key}/decline",
        json={"reason": "De buurt heeft al een bewonersoverleg."},
        headers=router.operator,
    )
    assert declined.status_code == 201, declined.text
    after = (await router.http.get(street, headers=router.operator)).json()
    assert after["advice"]["state"] == "declined"
    assert after["advice"]["declined_at"] is not None
