"""What a live-feed announcement carries: the event, the partners it concerns, bounded size."""

from __future__ import annotations

import json

from contracts.envelope import CloudEvent
from contracts.events import ROUTING_ESCALATED_TYPE
from contracts.wijkhubs import WIJKHUB_OPENED_TYPE
from services.notify.broadcast import _sse
from services.notify.feed import announcement


def escalation(reason: str) -> str:
    event = CloudEvent(
        specversion="1.0",
        id="ev-1",
        source="urn:nld:wijkbus:routing",
        type=ROUTING_ESCALATED_TYPE,
        subject="sig-1",
        data={
            "signal_id": "sig-1",
            "from_partner_id": "woonstichting-noord",
            "to_partner_id": "gemeente-groningen",
            "reason": reason,
        },
    )
    return announcement(event)


def test_an_escalation_concerns_both_partners() -> None:
    item = json.loads(escalation("te laat"))
    assert item["partners"] == ["gemeente-groningen", "woonstichting-noord"]
    assert item["data"]["reason"] == "te laat"
    assert item["type"] == ROUTING_ESCALATED_TYPE


def test_a_wijkhub_concerns_every_partner_taking_part() -> None:
    event = CloudEvent(
        specversion="1.0",
        id="ev-2",
        source="urn:nld:wijkbus:routing",
        type=WIJKHUB_OPENED_TYPE,
        data={"hub_id": "hub-1", "partners": ["wij-groningen", "politie-groningen"]},
    )
    assert json.loads(announcement(event))["partners"] == ["politie-groningen", "wij-groningen"]


def test_an_announcement_too_big_for_pg_notify_drops_its_data_but_keeps_the_partners() -> None:
    payload = escalation("x" * 20_000)
    assert len(payload.encode()) < 8000
    item = json.loads(payload)
    assert item["data"] is None
    assert item["partners"] == ["gemeente-groningen", "woonstichting-noord"]


def test_a_server_sent_event_is_identified_by_its_place_in_the_feed() -> None:
    message = _sse(42, {"id": "a\nevent: nep", "type": "t", "partners": []}).decode()
    assert message.startswith("id: 42\ndata: {")
    assert message.endswith("\n\n") and message.count("\n") == 3
