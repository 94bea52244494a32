"""An assignment after routing: opgepakt and afgehandeld by the assigned partner, and its SLA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.events import FeedbackReceived, SignalAcknowledged, SignalResolved
from services.routing.lifecycle import Assignment, Ignored, record_feedback, sla_state

NOW = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)


def feedback(kind: str, partner: str = "politie-groningen", **changes: Any) -> FeedbackReceived:
    outcome = "opgelost" if kind == "afgehandeld" else None
    fields = {
        "signal_id": "s1",
        "partner_id": partner,
        "kind": kind,
        "outcome": outcome,
        "received_at": NOW,
    }
    return FeedbackReceived.model_validate({**fields, **changes})


def assignment(status: str = "toegewezen") -> Assignment:
    return Assignment("s1", "politie-groningen", status)  # type: ignore[arg-type]


def test_opgepakt_by_the_assigned_partner_acknowledges() -> None:
    assert record_feedback(assignment(), feedback("opgepakt")) == SignalAcknowledged(
        signal_id="s1", partner_id="politie-groningen", acknowledged_at=NOW
    )


@pytest.mark.parametrize("status", ["toegewezen", "opgepakt"])
def test_afgehandeld_resolves_with_the_outcome(status: str) -> None:
    assert record_feedback(assignment(status), feedback("afgehandeld")) == SignalResolved(
        signal_id="s1", partner_id="politie-groningen", outcome="opgelost", resolved_at=NOW
    )


@pytest.mark.parametrize(
    ("status", "given", "reason"),
    [
        (
            "toegewezen",
            feedback("opgepakt", "gemeente-groningen"),
            "opgepakt from gemeente-groningen, but the signal is assigned to politie-groningen",
        ),
        ("opgepakt", feedback("opgepakt"), "already opgepakt"),
        ("afgehandeld", feedback("afgehandeld"), "afgehandeld after the signal was afgehandeld"),
        ("afgehandeld", feedback("opgepakt"), "opgepakt after the signal was afgehandeld"),
        ("toegewezen", feedback("afgehandeld", outcome=None), "without an outcome"),
    ],
)
def test_feedback_that_changes_nothing_is_ignored_with_a_reason(
    status: str, given: FeedbackReceived, reason: str
) -> None:
    result = record_feedback(assignment(status), given)
    assert isinstance(result, Ignored)
    assert reason in result.reason


@pytest.mark.parametrize(
    ("acknowledged_after", "now_after", "state"),
    [
        (None, timedelta(hours=-1), "op tijd"),
        (None, timedelta(0), "op tijd"),
        (None, timedelta(minutes=1), "te laat"),
        (timedelta(hours=-2), timedelta(hours=5), "op tijd"),
        (timedelta(hours=1), timedelta(hours=5), "te laat"),
    ],
)
def test_sla_state_compares_acknowledgement_with_the_deadline(
    acknowledged_after: timedelta | None, now_after: timedelta, state: str
) -> None:
    acknowledged = NOW + acknowledged_after if acknowledged_after is not None else None
    assert sla_state(NOW, acknowledged, NOW + now_after) == state


def test_no_deadline_is_never_late() -> None:
    assert sla_state(None, None, NOW) == "op tijd"


def test_lifecycle_events_say_where_the_signal_is_so_street_subscribers_hear_them() -> None:
    placed = Assignment("s1", "politie-groningen", "toegewezen", "naam:groningen:asingastraat",
                        "BU00140107")  # fmt: skip
    for kind in ("opgepakt", "afgehandeld"):
        event = record_feedback(placed, feedback(kind))
        assert not isinstance(event, Ignored)
        assert (event.street_key, event.buurt_code) == ("naam:groningen:asingastraat", "BU00140107")
