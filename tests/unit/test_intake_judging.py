"""Judging a batch in order: what earlier events of the batch did counts for the later ones."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.validation import ValidatedEvent, validate_partner_event
from services.intake.domain import (
    PreviousEvent,
    SignalState,
    Verdict,
    judge_batch,
    latest_observed_at,
    reject,
)
from wijkbus.partners import Partner

CORP = Partner(
    id="woonstichting-noord",
    name="Woonstichting Noord",
    role="woningcorporatie",
    source="urn:test:corp",
    may_send=("overlast",),
    api_key_sha256="0" * 64,
    signing_secret_env="CORP_SECRET",
)


def _signal(event_id: str, severity: str = "normaal") -> ValidatedEvent:
    event = {
        "specversion": "1.0",
        "id": event_id,
        "source": CORP.source,
        "type": "nl.wijkaanpak.signaal.overlast",
        "data": {"location": {"street": "Korreweg", "city": "Groningen"}, "severity": severity},
    }
    return _valid(event)


def _feedback(event_id: str, signal_id: str) -> ValidatedEvent:
    event = {
        "specversion": "1.0",
        "id": event_id,
        "source": CORP.source,
        "type": "nl.wijkaanpak.signaal.opgepakt",
        "data": {"signal_id": signal_id},
    }
    return _valid(event)


def _valid(event: dict[str, Any]) -> ValidatedEvent:
    checked = validate_partner_event(json.dumps(event).encode())
    assert isinstance(checked, ValidatedEvent), checked
    return checked


def _ids() -> Any:
    numbers = itertools.count(1)
    return lambda: f"sig-{next(numbers)}"


def test_a_later_copy_in_the_batch_is_a_duplicate_and_a_changed_copy_a_conflict() -> None:
    first, changed = _signal("a"), _signal("a", severity="hoog")
    verdicts = judge_batch([(CORP, first), (CORP, first), (CORP, changed)], {}, {}, _ids())
    assert [v.status for v in verdicts] == ["accepted", "duplicate", "conflict"]
    assert verdicts[1].signal_id == verdicts[0].signal_id == "sig-1"


def test_an_event_received_in_an_earlier_batch_is_a_duplicate() -> None:
    checked = _signal("a")
    previous = {(CORP.source, "a"): PreviousEvent(checked.body_hash, "sig-0")}
    [verdict] = judge_batch([(CORP, checked)], previous, {}, _ids())
    assert verdict == Verdict("duplicate", signal_id="sig-0")


def test_feedback_on_a_signal_accepted_earlier_in_the_batch_is_refused_as_unassigned() -> None:
    verdicts = judge_batch([(CORP, _signal("a")), (CORP, _feedback("f", "sig-1"))], {}, {}, _ids())
    assert verdicts[1].status == "forbidden"


def test_feedback_from_the_assigned_partner_is_accepted_once() -> None:
    feedback = _feedback("f", "sig-9")
    targets = {"sig-9": SignalState("sig-9", CORP.id)}
    verdicts = judge_batch([(CORP, feedback), (CORP, feedback)], {}, targets, _ids())
    assert verdicts == [
        Verdict("accepted", signal_id="sig-9"),
        Verdict("duplicate", signal_id="sig-9"),
    ]


def test_refusals_decided_before_judging_pass_through_in_their_place() -> None:
    refused = reject("unauthenticated", "wijkbus-signature", "wrong signature")
    verdicts = judge_batch([(CORP, refused), (CORP, _signal("a"))], {}, {}, _ids())
    assert verdicts == [refused, Verdict("accepted", signal_id="sig-1")]


def _observed(event_id: str, observed_at: str) -> ValidatedEvent:
    event = {
        "specversion": "1.0",
        "id": event_id,
        "source": CORP.source,
        "type": "nl.wijkaanpak.signaal.overlast",
        "data": {
            "location": {"street": "Korreweg", "city": "Groningen"},
            "observed_at": observed_at,
        },
    }
    return _valid(event)


def test_a_signal_observed_beyond_the_tolerance_is_refused_at_its_field() -> None:
    now = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
    latest = latest_observed_at(now, timedelta(minutes=5))
    items = [
        (CORP, _observed("in-time", "2026-11-20T22:05:00+01:00")),  # exactly the tolerance
        (CORP, _observed("ahead", "2026-11-20T22:05:01+01:00")),
    ]
    on_time, ahead = judge_batch(items, {}, {}, _ids(), latest)
    assert on_time.status == "accepted"
    assert ahead.status == "invalid"
    assert [e.field for e in ahead.errors] == ["data.observed_at"]
    assert "future" in ahead.errors[0].message
