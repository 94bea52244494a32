"""Which subscription wants which event: type prefixes and the partner, buurt and street filters."""

from __future__ import annotations

from typing import Any

import pytest

from services.notify.domain import Filters, Subscription, matches

ASSIGNED = "nl.wijkaanpak.routing.assigned"
ESCALATED = "nl.wijkaanpak.routing.escalated"
THRESHOLD = "nl.wijkaanpak.streets.threshold-crossed"
DATA: dict[str, Any] = {
    "signal_id": "s-1",
    "partner_id": "politie-noord",
    "street_key": "naam:groningen:asingastraat",
    "buurt_code": "BU00140107",
}


def sub(*types: str, **filters: str) -> Subscription:
    return Subscription(id="sub", types=types, filters=Filters(**filters))


@pytest.mark.parametrize(
    ("types", "wanted"),
    [
        ((ASSIGNED,), True),
        (("nl.wijkaanpak.routing.",), True),
        (("nl.wijkaanpak.",), True),
        ((THRESHOLD, ASSIGNED), True),
        ((ESCALATED,), False),
        (("nl.wijkaanpak.streets.",), False),
        (("routing.assigned",), False),
    ],
)
def test_type_prefix_decides_first(types: tuple[str, ...], wanted: bool) -> None:
    assert matches(sub(*types), ASSIGNED, DATA) is wanted


def test_partner_filter_matches_the_assigned_partner() -> None:
    assert matches(sub(ASSIGNED, partner="politie-noord"), ASSIGNED, DATA)
    assert not matches(sub(ASSIGNED, partner="woonstichting-noord"), ASSIGNED, DATA)


def test_partner_filter_matches_the_partner_an_escalation_goes_to() -> None:
    escalated = {"signal_id": "s-1", "from_partner_id": "wij-groningen", "to_partner_id": "politie"}
    assert matches(sub(ESCALATED, partner="politie"), ESCALATED, escalated)
    # The partner it was taken from is not told through this filter.
    assert not matches(sub(ESCALATED, partner="wij-groningen"), ESCALATED, escalated)


def test_buurt_and_street_filters_must_all_match() -> None:
    assert matches(sub(ASSIGNED, buurt_code="BU00140107"), ASSIGNED, DATA)
    assert not matches(sub(ASSIGNED, buurt_code="BU00140110"), ASSIGNED, DATA)
    assert matches(sub(ASSIGNED, street_key=DATA["street_key"]), ASSIGNED, DATA)
    both = sub(ASSIGNED, buurt_code="BU00140107", street_key="naam:groningen:korreweg")
    assert not matches(both, ASSIGNED, DATA)


def test_a_filter_never_matches_an_event_without_that_field() -> None:
    threshold = {"street_key": "naam:groningen:asingastraat", "buurt_code": None}
    assert matches(sub(THRESHOLD), THRESHOLD, threshold)
    assert not matches(sub(THRESHOLD, partner="politie-noord"), THRESHOLD, threshold)
    assert not matches(sub(THRESHOLD, buurt_code="BU00140107"), THRESHOLD, threshold)
    assert not matches(sub(THRESHOLD, buurt_code="BU00140107"), THRESHOLD, None)
    assert matches(sub(THRESHOLD), THRESHOLD, None)
