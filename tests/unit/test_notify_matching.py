"""Which subscription wants which event: type prefixes and the partner, buurt and street filters,
a wijkhub's lists of partners taking part and street keys included."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.envelope import new_event, parse_event, to_json_bytes
from contracts.wijkhubs import (
    WIJKHUB_ADVISED_TYPE,
    WIJKHUB_CLOSED_TYPE,
    WIJKHUB_DECLINED_TYPE,
    WIJKHUB_EVENT_TYPES,
    WIJKHUB_EXTENDED_TYPE,
    WIJKHUB_OPENED_TYPE,
)
from services.notify.domain import Filters, Matcher, Subscription, matches
from tests.unit.test_contracts_events import WIJKHUB_SAMPLES

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


WIJKHUB = "nl.wijkaanpak.wijkhub."
RUNNING = (WIJKHUB_OPENED_TYPE, WIJKHUB_EXTENDED_TYPE, WIJKHUB_CLOSED_TYPE)
STREET = "bag:0014300000123456"
OTHER_STREET = "bag:0014300000654321"


def wijkhub_data(event_type: str, **changes: Any) -> Any:
    """A wijkhub event's data as the fan-out gets it: validated, then through JSON and back."""
    data = WIJKHUB_EVENT_TYPES[event_type].model_validate(
        {**WIJKHUB_SAMPLES[event_type], **changes}
    )
    event = new_event(event_type, "urn:nld:wijkbus:routing", data, subject="hub")
    return parse_event(to_json_bytes(event)).data


@pytest.mark.parametrize("event_type", RUNNING)
def test_partner_filter_matches_every_partner_taking_part_in_a_wijkhub(event_type: str) -> None:
    data = wijkhub_data(event_type, partners=["politie-groningen", "wij-groningen"])
    assert matches(sub(WIJKHUB, partner="politie-groningen"), event_type, data)
    assert matches(sub(WIJKHUB, partner="wij-groningen"), event_type, data)
    assert not matches(sub(WIJKHUB, partner="woonstichting-noord"), event_type, data)


@pytest.mark.parametrize("event_type", RUNNING)
def test_street_filter_matches_any_of_a_wijkhubs_streets(event_type: str) -> None:
    data = wijkhub_data(event_type, street_keys=[OTHER_STREET, STREET])
    assert matches(sub(WIJKHUB, street_key=STREET), event_type, data)
    assert matches(sub(WIJKHUB, street_key=OTHER_STREET), event_type, data)
    assert not matches(sub(WIJKHUB, street_key="bag:0014300000000000"), event_type, data)


def test_buurt_filter_on_a_wijkhub_works_as_on_any_event() -> None:
    opened = wijkhub_data(WIJKHUB_OPENED_TYPE)
    assert matches(sub(WIJKHUB, buurt_code="BU00140107"), WIJKHUB_OPENED_TYPE, opened)
    assert not matches(sub(WIJKHUB, buurt_code="BU00140110"), WIJKHUB_OPENED_TYPE, opened)
    extended = wijkhub_data(WIJKHUB_EXTENDED_TYPE)  # the sample has no buurt
    assert not matches(sub(WIJKHUB, buurt_code="BU00140107"), WIJKHUB_EXTENDED_TYPE, extended)


@pytest.mark.parametrize("event_type", [WIJKHUB_ADVISED_TYPE, WIJKHUB_DECLINED_TYPE])
def test_an_advice_or_decision_matches_its_one_street_and_no_partner(event_type: str) -> None:
    data = wijkhub_data(event_type)
    assert matches(sub(WIJKHUB, street_key=STREET), event_type, data)
    assert not matches(sub(WIJKHUB, street_key=OTHER_STREET), event_type, data)
    assert not matches(sub(WIJKHUB, partner="politie-groningen"), event_type, data)


def test_a_wijkhub_prefix_without_filters_wants_all_five_types() -> None:
    assert len(WIJKHUB_EVENT_TYPES) == 5
    for event_type in WIJKHUB_EVENT_TYPES:
        assert matches(sub(WIJKHUB), event_type, wijkhub_data(event_type))
        assert not matches(sub("nl.wijkaanpak.routing."), event_type, wijkhub_data(event_type))


def test_a_partners_field_that_is_not_a_list_never_matches_by_its_letters() -> None:
    data = {"partners": "politie-groningen", "street_keys": STREET}
    assert not matches(sub(WIJKHUB, partner="politie"), WIJKHUB_OPENED_TYPE, data)
    assert not matches(sub(WIJKHUB, street_key="bag"), WIJKHUB_OPENED_TYPE, data)


def test_the_matcher_wants_what_matching_one_by_one_wants_in_the_same_order() -> None:
    street = DATA["street_key"]
    subs = [
        Subscription(id=f"s{n}", types=types, filters=Filters(**filters))
        for n, (types, filters) in enumerate(
            [
                ((ASSIGNED,), {"street_key": street}),
                (("nl.wijkaanpak.",), {}),
                ((ASSIGNED,), {"street_key": "naam:groningen:elders"}),
                ((ESCALATED,), {"street_key": street}),
                (("nl.wijkaanpak.wijkhub.",), {"street_key": street}),
                ((ASSIGNED,), {"street_key": street, "partner": "politie-noord"}),
                ((ASSIGNED,), {"partner": "woonstichting-noord"}),
                ((ASSIGNED,), {"street_key": street, "buurt_code": "BU00000000"}),
            ]
        )
    ]
    matcher = Matcher(subs)
    events: list[tuple[str, Any]] = [
        (ASSIGNED, DATA),
        (ASSIGNED, {**DATA, "street_key": "naam:groningen:elders"}),
        (ESCALATED, DATA),
        (THRESHOLD, {"street_key": ["not", "a", "key"]}),
        (ASSIGNED, None),
        *((t, WIJKHUB_SAMPLES[t]) for t in WIJKHUB_EVENT_TYPES),
    ]
    for event_type, data in events:
        one_by_one = [s.id for s in subs if matches(s, event_type, data)]
        assert [s.id for s in matcher.wanting(event_type, data)] == one_by_one
    assert [s.id for s in matcher.wanting(ASSIGNED, DATA)] == ["s0", "s1", "s5"]
