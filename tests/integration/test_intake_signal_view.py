"""A partner reads on its own signal which rule and rule set version assigned it, to whom, and
by when the responder must take it up; an escalation keeps the rule and moves the deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import topics
from contracts.envelope import new_event, to_json_bytes
from contracts.events import (
    ROUTING_ASSIGNED_TYPE,
    ROUTING_ESCALATED_TYPE,
    ResponderAssigned,
    ResponderEscalated,
)
from tests.integration.test_intake_gateway import CORP, SOURCE, Gateway, gateway
from tests.support import eventually, produce, signal_event, unique

__all__ = ["gateway"]  # the gateway fixture, used here

POLICE, GEMEENTE = "politie-groningen", "gemeente-groningen"
ASSIGNED_AT = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)


async def _publish(gateway: Gateway, kind: str, data: Any) -> None:
    event = new_event(kind, "urn:test:routing", data, id=unique("rt"))
    await produce(gateway.bootstrap, topics.ROUTING_EVENTS, to_json_bytes(event))


async def _view(gateway: Gateway, signal_id: str, partner: str, **expected: Any) -> dict:
    async def seen() -> dict | None:
        answer = await gateway.http.get(
            f"/api/v1/signals/{signal_id}", headers=gateway.auth(partner)
        )
        body = answer.json() if answer.status_code == 200 else {}
        return body if all(body.get(k) == v for k, v in expected.items()) else None

    return await eventually(seen, what=f"signal {signal_id} with {expected}")


async def test_the_sender_sees_the_rule_version_and_deadline_of_its_signal(
    gateway: Gateway,
) -> None:
    signal_id = (await gateway.post(signal_event(SOURCE[CORP]))).json()["signal_id"]
    fresh = await gateway.http.get(f"/api/v1/signals/{signal_id}", headers=gateway.auth())
    assert (fresh.json()["rule_id"], fresh.json()["acknowledge_by"]) == (None, None)
    deadline = ASSIGNED_AT + timedelta(hours=8)
    assigned = ResponderAssigned(
        signal_id=signal_id,
        partner_id=POLICE,
        categorie="overlast",
        street_key="naam:groningen:asingastraat",
        buurt_code="BU00140107",
        rule_id="overlast-de-hoogte",
        ruleset_version="2026-11-01",
        acknowledge_by=deadline,
        assigned_at=ASSIGNED_AT,
    )
    await _publish(gateway, ROUTING_ASSIGNED_TYPE, assigned)
    mine = await _view(gateway, signal_id, CORP, assigned_partner_id=POLICE)
    assert mine["rule_id"] == "overlast-de-hoogte"
    assert mine["ruleset_version"] == "2026-11-01"
    assert datetime.fromisoformat(mine["acknowledge_by"]) == deadline
    assert datetime.fromisoformat(mine["assigned_at"]) == ASSIGNED_AT
    responder = await _view(gateway, signal_id, POLICE, assigned_partner_id=POLICE)
    assert responder["rule_id"] == "overlast-de-hoogte"

    later = deadline + timedelta(hours=24)
    escalated = ResponderEscalated(
        signal_id=signal_id,
        from_partner_id=POLICE,
        to_partner_id=GEMEENTE,
        reason="niet opgepakt binnen 8 uur",
        escalated_at=deadline,
        acknowledge_by=later,
    )
    await _publish(gateway, ROUTING_ESCALATED_TYPE, escalated)
    moved = await _view(gateway, signal_id, CORP, assigned_partner_id=GEMEENTE)
    assert (moved["rule_id"], moved["ruleset_version"]) == ("overlast-de-hoogte", "2026-11-01")
    assert datetime.fromisoformat(moved["acknowledge_by"]) == later
