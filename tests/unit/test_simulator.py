"""The simulator's streams are valid partner events, reproducible per seed."""

from __future__ import annotations

import json

import pytest

from contracts.validation import ValidatedEvent, validate_partner_event
from tools.simulate import SCENARIOS, realistic_signals, scenario_events

SOURCE = "urn:nld:kvknr:12345678:systeem:huurbeheer"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_event_is_a_valid_signal(scenario: str) -> None:
    for raw in scenario_events(scenario, SOURCE, 200, seed=3):
        checked = validate_partner_event(raw)
        assert isinstance(checked, ValidatedEvent), checked


def test_veenendaal_reports_vandalism_and_rent_arrears_with_a_person() -> None:
    events = [json.loads(r) for r in scenario_events("veenendaal", SOURCE, 100, seed=1)]
    types = {e["type"].rsplit(".", 1)[1] for e in events}
    assert types == {"vernieling", "huurachterstand"}
    assert all(("person" in e["data"]) == e["type"].endswith("huurachterstand") for e in events)


def test_de_hoogte_is_one_street_in_groningen() -> None:
    streets = {
        json.loads(r)["data"]["location"]["street"]
        for r in scenario_events("de-hoogte", SOURCE, 50)
    }
    assert streets == {"Asingastraat"}


def test_same_seed_gives_the_same_stream_and_ids_are_unique() -> None:
    first = list(scenario_events("gemengd", SOURCE, 50, seed=9))
    assert first == list(scenario_events("gemengd", SOURCE, 50, seed=9))
    assert len({json.loads(r)["id"] for r in first}) == 50
    assert len({json.loads(r)["id"] for r in realistic_signals(SOURCE, 50)}) == 50


def test_unknown_scenario_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="de-hoogte"):
        list(scenario_events("nergens", SOURCE, 1))
