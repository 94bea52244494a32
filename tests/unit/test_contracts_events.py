"""Envelope helpers, internal events, receipts and topic names."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contracts import topics
from contracts.envelope import CloudEvent, new_event, parse_event, to_json_bytes
from contracts.events import (
    BALLOT_CAST_TYPE,
    BUDGET_YEAR_CLOSED_TYPE,
    EVENT_TYPES,
    FEEDBACK_RECEIVED_TYPE,
    INITIATIVE_ADMITTED_TYPE,
    INITIATIVE_DECLINED_TYPE,
    INITIATIVE_FUNDED_TYPE,
    INITIATIVE_NOT_FUNDED_TYPE,
    INITIATIVE_PROPOSED_TYPE,
    INITIATIVE_SUPPORT_WITHDRAWN_TYPE,
    INITIATIVE_SUPPORTED_TYPE,
    INITIATIVE_WITHDRAWN_TYPE,
    ROUND_DECIDED_TYPE,
    ROUTING_ACKNOWLEDGED_TYPE,
    ROUTING_ASSIGNED_TYPE,
    ROUTING_ESCALATED_TYPE,
    ROUTING_RESOLVED_TYPE,
    SIGNAL_ACCEPTED_TYPE,
    STREET_THRESHOLD_CROSSED_TYPE,
    SignalAccepted,
)
from contracts.receipts import (
    RECEIPT_ACCEPTED,
    RECEIPT_DUPLICATE,
    RECEIPT_REJECTED,
    FieldError,
    ReceiptData,
)
from contracts.wijkhubs import (
    WIJKHUB_ADVISED_TYPE,
    WIJKHUB_CLOSED_TYPE,
    WIJKHUB_DECLINED_TYPE,
    WIJKHUB_EXTENDED_TYPE,
    WIJKHUB_OPENED_TYPE,
)

AT = datetime(2026, 11, 20, 20, 30, tzinfo=UTC)
SOURCE = "urn:nld:wijkbus:intake"

HUB = "hub-" + "0" * 31 + "1"
_STREET = {"street_key": "bag:0014300000123456", "buurt_code": "BU00140107"}
_WINDOW = {
    "start": AT,
    "end": AT,
    "weeks": 1.0,
    "incidents": 2,
    "per_week": 2.0,
    "per_street_week": 2.0,
    "per_categorie": {"overlast": 2},
}
_TIMES = {
    "signals": 2,
    "opgepakt": 1,
    "afgehandeld": 0,
    "opgepakt_median_hours": 3.5,
    "opgepakt_p90_hours": 3.5,
    "afgehandeld_median_hours": None,
    "afgehandeld_p90_hours": None,
}
_GROUP = {
    "streets": 1,
    "before": _WINDOW,
    "during": _WINDOW,
    "after": None,
    "response_before": _TIMES,
    "response_during": _TIMES,
}
WIJKHUB_SAMPLES: dict[str, dict[str, Any]] = {
    WIJKHUB_ADVISED_TYPE: {
        **_STREET, "street": "Asingastraat", "city": "Groningen", "rule_id": "wijkhub",
        "window_days": 30, "counts": {"overlast": 5}, "advice": "Overweeg een wijkhub.",
        "advised_at": AT,
    },
    WIJKHUB_OPENED_TYPE: {
        "hub_id": HUB, "street_keys": ["bag:0014300000123456"], "buurt_code": "BU00140107",
        "city": "Groningen", "address": "Asingastraat 43", "starts_at": AT, "ends_at": AT,
        "partners": ["politie-groningen"], "contact_role": "wijkagent", "aims": "Contact.",
        "opened_by": "operator", "opened_at": AT,
    },
    WIJKHUB_DECLINED_TYPE: {
        **_STREET, "street": "Asingastraat", "city": "Groningen", "reason": "Al een aanpak.",
        "declined_by": "operator", "declined_at": AT,
    },
    WIJKHUB_EXTENDED_TYPE: {
        "hub_id": HUB, "address": "Asingastraat 43", "city": "Groningen",
        "street_keys": ["bag:0014300000123456"], "buurt_code": None,
        "partners": ["politie-groningen"], "previous_ends_at": AT, "ends_at": AT,
        "extended_by": "operator", "extended_at": AT,
    },
    WIJKHUB_CLOSED_TYPE: {
        "hub_id": HUB, "address": "Asingastraat 43", "city": "Groningen",
        "street_keys": ["bag:0014300000123456"], "buurt_code": None,
        "partners": ["politie-groningen"], "outcome_note": "Rustiger.", "closed_by": "operator",
        "closed_at": AT,
        "evaluation": {
            "hub_id": HUB, "as_of": AT, "period_start": AT, "period_end": AT,
            "baseline_weeks": 1.0, "hub": _GROUP, "comparison": None,
            "difference_in_differences": None,
            "weekly": [{"week_start": AT, "hub": 2, "comparison_per_street": None}],
        },
    },
}  # fmt: skip

SAMPLES: dict[str, dict[str, Any]] = {
    SIGNAL_ACCEPTED_TYPE: {
        "signal_id": "sig-1",
        "partner_id": "woonstichting-noord",
        "event_source": "urn:nld:kvknr:12345678:systeem:huurbeheer",
        "event_id": "HB-2026-000123",
        "categorie": "huurachterstand",
        "subcategory": None,
        "severity": "hoog",
        "observed_at": AT,
        "received_at": AT,
        "street_key": "naam:groningen:asingastraat",
        "street": "Asingastraat",
        "city": "Groningen",
        "buurt_code": "BU00140107",
        "openbareruimte_id": None,
        "has_person": True,
        "dataref": "/api/v1/signals/sig-1/person",
    },
    FEEDBACK_RECEIVED_TYPE: {
        "signal_id": "sig-1",
        "partner_id": "welzijn-stad",
        "kind": "afgehandeld",
        "outcome": "opgelost",
        "received_at": AT,
    },
    ROUTING_ASSIGNED_TYPE: {
        "signal_id": "sig-1",
        "partner_id": "welzijn-stad",
        "categorie": "overlast",
        "street_key": "bag:0014300000123456",
        "buurt_code": None,
        "rule_id": "overlast-default",
        "ruleset_version": "2026-11-01",
        "acknowledge_by": AT + timedelta(hours=4),
        "assigned_at": AT,
    },
    ROUTING_ESCALATED_TYPE: {
        "signal_id": "sig-1",
        "from_partner_id": "welzijn-stad",
        "to_partner_id": "gemeente-groningen",
        "reason": "not acknowledged within 4 hours",
        "escalated_at": AT,
        "acknowledge_by": None,
    },
    ROUTING_ACKNOWLEDGED_TYPE: {"signal_id": "sig-1", "partner_id": "p1", "acknowledged_at": AT},
    ROUTING_RESOLVED_TYPE: {
        "signal_id": "sig-1",
        "partner_id": "p1",
        "outcome": "geen-actie",
        "resolved_at": AT,
    },
    STREET_THRESHOLD_CROSSED_TYPE: {
        "street_key": "naam:groningen:asingastraat",
        "street": "Asingastraat",
        "city": "Groningen",
        "buurt_code": None,
        "rule_id": "drie-signalen",
        "window_days": 30,
        "counts": {"overlast": 3, "vervuiling": 1},
        "advice": "Plan a joint visit",
        "crossed_at": AT,
    },
    RECEIPT_ACCEPTED: {"event_source": "urn:x", "event_id": "1", "signal_id": "sig-1"},
    RECEIPT_DUPLICATE: {"event_source": "urn:x", "event_id": "1", "signal_id": "sig-1"},
    RECEIPT_REJECTED: {
        "event_source": None,
        "event_id": None,
        "errors": [{"field": "", "message": "body is not valid JSON"}],
    },
    INITIATIVE_PROPOSED_TYPE: {
        "initiative_id": "ini-1",
        "municipality": "Assen",
        "year": 2026,
        "buurt_code": "BU01060110",
        "title": "Bankje bij de speeltuin",
        "cost_cents": 45000,
        "funding_rule": "pledge",
        "proposed_at": AT,
    },
    INITIATIVE_ADMITTED_TYPE: {
        "initiative_id": "ini-1",
        "buurt_code": "BU01060110",
        "deadline": AT,
        "admitted_at": AT,
    },
    INITIATIVE_DECLINED_TYPE: {
        "initiative_id": "ini-1",
        "buurt_code": "BU01060110",
        "reason": "Valt buiten de buurt",
        "declined_at": AT,
    },
    INITIATIVE_SUPPORTED_TYPE: {
        "initiative_id": "ini-1",
        "buurt_code": "BU01060110",
        "funding_rule": "pledge",
        "supporters": 3,
        "have": 3000,
        "need": 45000,
        "supported_at": AT,
    },
    INITIATIVE_SUPPORT_WITHDRAWN_TYPE: {
        "initiative_id": "ini-1",
        "buurt_code": "BU01060110",
        "supporters": 2,
        "withdrawn_at": AT,
    },
    INITIATIVE_FUNDED_TYPE: {
        "initiative_id": "ini-1",
        "buurt_code": "BU01060110",
        "funding_rule": "majority",
        "cost_cents": 45000,
        "supporters": 120,
        "reason": "meer dan de helft van de huishoudens steunt het",
        "funded_at": AT,
    },
    INITIATIVE_NOT_FUNDED_TYPE: {
        "initiative_id": "ini-1",
        "buurt_code": "BU01060110",
        "funding_rule": "pledge",
        "cost_cents": 45000,
        "supporters": 4,
        "reason": "te weinig toezeggingen voor de deadline",
        "decided_at": AT,
    },
    INITIATIVE_WITHDRAWN_TYPE: {
        "initiative_id": "ini-1",
        "buurt_code": "BU01060110",
        "withdrawn_at": AT,
    },
    BALLOT_CAST_TYPE: {"round_id": "pb:assen-2024", "cast_at": AT},
    BUDGET_YEAR_CLOSED_TYPE: {
        "municipality": "Assen",
        "year": 2026,
        "households": 100,
        "allowance_cents": 1000,
        "total_cents": 100000,
        "spent_cents": 45000,
        "lapsed_cents": 55000,
        "funded": 1,
        "not_funded": 2,
        "closed_at": AT,
    },
    ROUND_DECIDED_TYPE: {
        "round_id": "pb:Netherlands_Amsterdam_166",
        "rule": "greedy",
        "selected": ["12416", "12421"],
        "spent": 249000,
        "partial_project_id": "12430",
        "partial_amount": 1000,
        "tie": False,
        "decided_at": AT,
    },
    **WIJKHUB_SAMPLES,
}


def test_every_event_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_type_round_trips_through_json(event_type: str) -> None:
    model = EVENT_TYPES[event_type]
    data = model.model_validate(SAMPLES[event_type])
    event = new_event(event_type, SOURCE, data, subject="sig-1", time=AT)

    parsed = parse_event(to_json_bytes(event))

    assert parsed == event
    assert parsed.type == event_type
    assert model.model_validate(parsed.data) == data


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_model_is_frozen_and_strict(event_type: str) -> None:
    model = EVENT_TYPES[event_type]
    data = model.model_validate(SAMPLES[event_type])
    field = next(iter(model.model_fields))
    with pytest.raises(ValidationError):
        setattr(data, field, None)
    with pytest.raises(ValidationError):
        model.model_validate({**SAMPLES[event_type], "unexpected": 1})


def test_signal_accepted_carries_no_address_details_or_person() -> None:
    assert not {"house_number", "postcode", "description", "person"} & set(
        SignalAccepted.model_fields
    )


def test_internal_event_timestamps_are_stored_in_utc() -> None:
    cet = timezone(timedelta(hours=1))
    sample = {
        **SAMPLES[SIGNAL_ACCEPTED_TYPE],
        "received_at": datetime(2026, 11, 20, 21, 30, tzinfo=cet),
    }
    assert SignalAccepted.model_validate(sample).received_at.tzinfo is UTC


def test_rejected_receipt_round_trips_with_its_errors_as_a_list() -> None:
    receipt = ReceiptData(
        event_source="urn:x",
        event_id="HB-1",
        errors=(FieldError(field="data.location.postcode", message="postcode must look like"),),
    )
    body = json.loads(to_json_bytes(new_event(RECEIPT_REJECTED, SOURCE, receipt, time=AT)))
    assert body["data"] == {
        "event_source": "urn:x",
        "event_id": "HB-1",
        "signal_id": None,
        "errors": [{"field": "data.location.postcode", "message": "postcode must look like"}],
    }
    assert ReceiptData.model_validate(body["data"]) == receipt


def test_new_event_fills_id_and_time() -> None:
    first = new_event(RECEIPT_ACCEPTED, SOURCE, ReceiptData(event_source=None, event_id=None))
    second = new_event(RECEIPT_ACCEPTED, SOURCE, ReceiptData(event_source=None, event_id=None))
    assert first.id != second.id
    assert first.time is not None
    assert first.time.tzinfo is UTC


def test_to_json_bytes_is_compact_and_leaves_out_absent_attributes() -> None:
    receipt = ReceiptData(event_source=None, event_id=None)
    raw = to_json_bytes(new_event(RECEIPT_ACCEPTED, SOURCE, receipt, id="r-1", time=AT))
    assert b" " not in raw
    body = json.loads(raw)
    assert set(body) == {"specversion", "id", "source", "type", "time", "datacontenttype", "data"}
    assert body["time"] == "2026-11-20T20:30:00Z"


def test_new_event_keeps_extension_attributes() -> None:
    receipt = ReceiptData(event_source=None, event_id=None)
    event = new_event(RECEIPT_ACCEPTED, SOURCE, receipt, extensions={"traceparent": "00-ab-cd-01"})
    assert parse_event(to_json_bytes(event)).model_extra == {"traceparent": "00-ab-cd-01"}


@pytest.mark.parametrize("name", ["traceParent", "trace_parent", "trace-parent"])
def test_cloudevent_rejects_extension_names_that_are_not_lowercase_alphanumeric(name: str) -> None:
    with pytest.raises(ValidationError):
        CloudEvent.model_validate(
            {"specversion": "1.0", "id": "1", "source": "s", "type": "t", name: "x"}
        )


@pytest.mark.parametrize(
    ("function", "argument", "topic"),
    [
        (topics.partner_events, "woonstichting-noord", "partners.woonstichting-noord.events"),
        (topics.partner_receipts, "woonstichting-noord", "partners.woonstichting-noord.receipts"),
        (topics.dead_letters, "intake", "intake.deadletters"),
    ],
)
def test_topic_names_follow_the_contract(function: Any, argument: str, topic: str) -> None:
    assert function(argument) == topic


@pytest.mark.parametrize("partner_id", ["Woonstichting", "a.b", "", "-x", "a b"])
def test_partner_topics_refuse_ids_that_are_not_slugs(partner_id: str) -> None:
    with pytest.raises(ValueError, match="slug"):
        topics.partner_events(partner_id)


@pytest.mark.parametrize(
    ("topic", "partner_id"),
    [
        ("partners.woonstichting-noord.events", "woonstichting-noord"),
        ("partners.woonstichting-noord.receipts", None),
        ("partners..events", None),
        ("signals.accepted", None),
        ("partners.a.b.events", None),
    ],
)
def test_partner_id_is_read_back_from_events_topics_only(
    topic: str, partner_id: str | None
) -> None:
    assert topics.partner_id_from_events_topic(topic) == partner_id


def test_every_registered_model_is_a_pydantic_model() -> None:
    assert all(issubclass(model, BaseModel) for model in EVENT_TYPES.values())
