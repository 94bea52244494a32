"""The dashboard's wijkhub forms: every refusal the rules can give is said in Dutch, and form
fields become the API's own requests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from starlette.datastructures import FormData

from contracts.wijkhubs import WijkhubOpened
from services.routing.web import wijkhub_forms as forms
from services.routing.wijkhub import domain
from services.routing.wijkhub.domain import Contact, DecisionRefused, Hub, Plan

NOW = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Amsterdam")


def refusals() -> list[str]:
    """Every reason `domain` gives, provoked once each."""
    plan = Plan(("naam:groningen:x",), "BU1", "Hier 1", date(2026, 11, 1), date(2026, 10, 1),
                ("onbekend",), Contact("n", "r"), "doel")  # fmt: skip
    opened = WijkhubOpened(
        hub_id="hub-" + "0" * 32, street_keys=(), buurt_code="BU1", city="", address="a",
        starts_at=NOW, ends_at=NOW, partners=(), contact_role="r", aims="a", opened_by="o",
        opened_at=NOW,
    )  # fmt: skip
    found = domain.plan_problems(plan, [], [], opened, date(2026, 11, 20))
    empty = Plan((), None, "a", date(2026, 11, 20), date(2026, 11, 21), (), Contact("n", "r"), "")
    found += domain.plan_problems(empty, [], [], opened, date(2026, 11, 20))
    hub = Hub("hub-1", frozenset({"x"}), None, NOW, NOW + timedelta(days=9), NOW)
    for check in (
        lambda: domain.may_extend(Hub(**{**hub.__dict__, "closed_at": NOW}), NOW, NOW),
        lambda: domain.may_extend(hub, hub.ends_at, NOW + timedelta(days=10)),
        lambda: domain.may_extend(hub, hub.ends_at, NOW),
        lambda: domain.may_close(Hub(**{**hub.__dict__, "closed_at": NOW})),
    ):
        with pytest.raises(DecisionRefused) as refused:
            check()
        found.append(str(refused.value))
    return found


def test_every_refusal_of_the_rules_is_said_in_dutch() -> None:
    reasons = set(refusals())
    assert len(reasons) == 10  # every reason in domain.py (the overlap's is the 11th, below)
    for reason in reasons:
        assert forms.dutch(reason) != reason, f"no Dutch for {reason!r}"
    assert forms.dutch("these streets already have a wijkhub then: hub-1") == (
        "Deze straat heeft in die periode al een wijkhub (hub-1)."
    )
    assert forms.dutch("this street has no advice awaiting a decision").startswith("Voor deze")


def test_the_open_form_becomes_the_api_request_and_its_faults_dutch_messages() -> None:
    form = FormData(
        [("street_key", "naam:groningen:asingastraat"), ("address", "Asingastraat 1"),
         ("starts_on", "2026-11-21"), ("ends_on", "2027-01-01"), ("partners", "politie-groningen"),
         ("partners", "wij-groningen"), ("name", "N"), ("role", "wijkagent"), ("phone", ""),
         ("aims", "Rust")]
    )  # fmt: skip
    plan = forms.open_request(form).plan()
    assert plan.partners == ("politie-groningen", "wij-groningen")
    assert plan.contact == Contact("N", "wijkagent", None, None)
    with pytest.raises(ValidationError) as invalid:
        forms.open_request(FormData([("starts_on", "morgen")]))
    said = forms.messages(invalid.value)
    assert "Begindatum is geen geldige datum." in said
    assert {"Adres is verplicht.", "Naam aanspreekpunt is verplicht."} <= set(said)
    assert forms.status_of(invalid.value) == 400


def test_the_open_form_starts_today_in_the_municipality_for_six_weeks() -> None:
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # already 1 December in Groningen
    assert forms.defaults(late, ZONE) == {
        "starts_on": date(2026, 12, 1),
        "ends_on": date(2027, 1, 12),
    }
