"""Street thresholds alert once per crossing: no repeat until the street dropped below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.routing.domain import Threshold
from services.routing.rule_parsing import parse_rules
from services.routing.streets import Street, Windows, crossed, judge
from tests.unit.test_routing_rules import PARTNERS

WIJKHUB = Threshold(
    id="wijkhub",
    categorie=("overlast", "vernieling"),  # type: ignore[arg-type]
    window_days=30,
    count=3,
    advice="Overleg met politie, WIJ en corporatie over een wijkhub",
)


@pytest.mark.parametrize(
    ("counts", "active", "change"),
    [
        ({"overlast": 2}, False, "unchanged"),
        ({"overlast": 2, "vernieling": 1}, False, "crossed"),
        ({"overlast": 2, "vernieling": 1}, True, "unchanged"),  # no repeated alert
        ({"overlast": 7}, True, "unchanged"),
        ({"overlast": 2, "zorg": 5}, True, "dropped"),  # other categories do not count
        ({}, True, "dropped"),
        ({}, False, "unchanged"),
    ],
)
def test_a_threshold_crosses_once_and_rearms_only_below_it(
    counts: dict[str, int], active: bool, change: str
) -> None:
    assert judge(WIJKHUB, counts, active) == change


def test_a_crossing_names_the_street_the_counts_and_the_advice() -> None:
    now = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
    street = Street("naam:groningen:asingastraat", "Asingastraat", "Groningen", "BU00140107")
    event = crossed(WIJKHUB, street, {"overlast": 2, "vernieling": 1, "zorg": 4}, now)
    assert event.counts == {"overlast": 2, "vernieling": 1}
    assert (event.rule_id, event.window_days, event.crossed_at) == ("wijkhub", 30, now)
    assert event.advice.startswith("Overleg")


def test_one_count_serves_the_rules_recent_windows_and_the_thresholds() -> None:
    ruleset = parse_rules(
        """
version: "1"
municipality: Groningen
rules:
  - id: vaak
    match: {min_recent: {days: 30, count: 3, categorie: [overlast]}}
    responder: politie-groningen
    acknowledge_within_hours: 4
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 48
thresholds:
  - {id: a, categorie: [overlast], window_days: 7, count: 2, advice: x}
  - {id: b, categorie: [zorg], window_days: 7, count: 2, advice: y}
""",
        PARTNERS,
    )
    observed = datetime(2026, 11, 1, tzinfo=UTC)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    windows = Windows.of(ruleset, observed, now)
    # min_recent windows end at the observation; threshold windows end at the evaluation.
    assert windows.bounds == [
        (observed - timedelta(days=30), observed),
        (now - timedelta(days=7), now),
    ]
    counted = [{"overlast": 2, "zorg": 4}, {"zorg": 1}]
    assert windows.recent(counted) == {(30, ("overlast",)): 2}
    assert windows.by_days(counted) == {7: {"zorg": 1}}
