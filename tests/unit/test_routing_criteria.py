"""Rule criteria beyond category and place: subcategorie, weekday, time of day, the street's
recent incidents, and deadlines counted in working hours or calendar hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.routing.domain import assign, choose_rule
from services.routing.rule_parsing import RuleSetError, parse_rules
from tests.unit.test_routing_rules import PARTNERS, signal

# Friday 20 November 2026; Amsterdam is UTC+1 in November.
FRIDAY_22H = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
RULES = """
version: "criteria-1"
municipality: Groningen
gebiedsmanager: gemeente-groningen
working_hours: {days: [maandag, dinsdag, woensdag, donderdag, vrijdag], start: "08:30", end: 17:00}
rules:
  - id: geluid-nacht
    match:
      categorie: [overlast]
      subcategorie: [Geluid]
      time_of_day: {from: 23:00, until: 07:00}
    responder: politie-groningen
    acknowledge_within_hours: 2
  - id: geluid
    match: {subcategorie: [geluid, muziek]}
    responder: woonstichting-noord
    acknowledge_within_hours: 8
    hours: werkuren
  - id: straat-met-historie
    match:
      categorie: [overlast, vernieling]
      min_recent: {days: 30, count: 3}
    responder: wij-groningen
    acknowledge_within_hours: 4
  - id: vernieling-vaak
    match: {min_recent: {days: 7, count: 2, categorie: [vernieling]}}
    responder: politie-groningen
    acknowledge_within_hours: 4
  - id: weekend
    match: {weekday: [zaterdag, zondag]}
    responder: politie-groningen
    acknowledge_within_hours: 12
  - id: avond
    match: {time_of_day: {from: "18:00", until: "23:00"}}
    responder: wij-groningen
    acknowledge_within_hours: 24
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 16
    hours: werkuren
"""


def at(local_day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026, given in Amsterdam local time (UTC+1)."""
    return datetime(2026, 11, local_day, hour, minute, tzinfo=UTC) - timedelta(hours=1)


@pytest.mark.parametrize(
    ("changes", "recent", "rule_id"),
    [
        # subcategorie (case-insensitive) combined with a window that wraps past midnight
        ({"subcategory": "geluid", "observed_at": at(20, 23, 30)}, {}, "geluid-nacht"),
        ({"subcategory": "GELUID ", "observed_at": at(21, 6, 59)}, {}, "geluid-nacht"),
        ({"subcategory": "geluid", "observed_at": at(21, 7, 0)}, {}, "geluid"),
        ({"subcategory": "muziek", "observed_at": at(20, 23, 30)}, {}, "geluid"),
        ({"subcategory": "geluid", "categorie": "zorg", "observed_at": at(20, 23)}, {}, "geluid"),
        # the street's recent incidents, including this one
        ({"observed_at": at(20, 12)}, {(30, None): 3}, "straat-met-historie"),
        ({"observed_at": at(20, 12)}, {(30, None): 2}, "standaard"),
        ({"categorie": "zorg", "observed_at": at(20, 12)}, {(30, None): 9}, "standaard"),
        (
            {"categorie": "zorg", "observed_at": at(20, 12)},
            {(7, ("vernieling",)): 2},
            "vernieling-vaak",
        ),
        # weekday and time of day, in the municipality's time zone
        ({"observed_at": at(21, 12)}, {}, "weekend"),  # Saturday
        ({"observed_at": at(22, 23, 30)}, {}, "weekend"),  # Sunday
        ({"observed_at": at(20, 18)}, {}, "avond"),  # Friday evening
        ({"observed_at": at(20, 22, 59)}, {}, "avond"),
        ({"observed_at": at(20, 23)}, {}, "standaard"),  # until is exclusive
        ({"observed_at": datetime(2026, 11, 21, 22, 30, tzinfo=UTC)}, {}, "weekend"),
        # 23:30 UTC on Sunday 22 Nov is already Monday 00:30 in Amsterdam
        ({"observed_at": datetime(2026, 11, 22, 23, 30, tzinfo=UTC)}, {}, "standaard"),
    ],
)
def test_rules_match_on_subcategorie_time_and_the_streets_history(
    changes: dict[str, Any], recent: dict[Any, int], rule_id: str
) -> None:
    ruleset = parse_rules(RULES, PARTNERS)
    rule = choose_rule(ruleset, signal(**{"buurt_code": None, **changes}), recent)
    assert rule.id == rule_id


@pytest.mark.parametrize(
    ("observed", "received", "rule_id"),
    [
        (at(21, 2), at(21, 9), "geluid-nacht"),  # noise at night, reported in the morning
        (at(20, 22), at(20, 23, 30), "geluid"),  # evening noise, reported after 23:00
    ],
)
def test_time_of_day_is_judged_on_the_observed_time_not_the_receive_time(
    observed: datetime, received: datetime, rule_id: str
) -> None:
    ruleset = parse_rules(RULES, PARTNERS)
    changes = {"buurt_code": None, "subcategory": "geluid"}
    night = signal(**changes, observed_at=observed, received_at=received)
    assert choose_rule(ruleset, night).id == rule_id


def test_weekday_is_judged_on_the_observed_time_not_the_receive_time() -> None:
    ruleset = parse_rules(RULES, PARTNERS)
    # Observed on Sunday at noon, reported on Monday morning: a weekend signal.
    sunday = signal(buurt_code=None, observed_at=at(22, 12), received_at=at(23, 9))
    assert choose_rule(ruleset, sunday).id == "weekend"
    monday = signal(buurt_code=None, observed_at=at(23, 9), received_at=at(23, 9))
    assert choose_rule(ruleset, monday).id == "standaard"


def test_the_rule_set_says_which_recent_counts_it_needs() -> None:
    assert parse_rules(RULES, PARTNERS).recent_windows() == {(30, None), (7, ("vernieling",))}


@pytest.mark.parametrize(
    ("rule_changes", "assigned_at", "acknowledge_by"),
    [
        # calendar hours run through the night and the weekend
        ({"subcategory": "geluid", "observed_at": at(20, 23, 30)}, at(20, 23, 30), at(21, 1, 30)),
        # 8 working hours from Friday 15:00: 2 on Friday, 6 from Monday 08:30
        ({"subcategory": "geluid"}, at(20, 15), at(23, 14, 30)),
        # from Friday night: the week starts Monday 08:30
        ({"subcategory": "geluid"}, at(20, 23), at(23, 16, 30)),
        # from before opening time on a weekday
        ({"subcategory": "geluid"}, at(18, 6), at(18, 16, 30)),
        # 16 working hours from Wednesday 10:00: 7 + 8.5 (Thursday) + 0.5 on Friday
        ({"observed_at": at(18, 10)}, at(18, 10), at(20, 9)),
    ],
)
def test_deadlines_count_calendar_or_working_hours(
    rule_changes: dict[str, Any], assigned_at: datetime, acknowledge_by: datetime
) -> None:
    ruleset = parse_rules(RULES, PARTNERS)
    changes = {"buurt_code": None, "observed_at": at(18, 12), **rule_changes}
    assigned = assign(ruleset, signal(**changes), assigned_at)
    assert assigned.acknowledge_by == acknowledge_by


def test_working_hours_default_to_weekdays_from_half_past_eight_to_five() -> None:
    ruleset = parse_rules(RULES.replace("working_hours:", "# working_hours:"), PARTNERS)
    assert ruleset.deadline(at(20, 16), 2, "werkuren") == at(23, 9, 30)


HEAD = "version: '1'\nmunicipality: Groningen\n"
DEFAULT = """rules:
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 72
"""
ONE = """rules:
  - id: een
    match: {MATCH}
    responder: politie-groningen
    acknowledge_within_hours: 8
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 72
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEAD + "gebiedsmanager: burgemeester\n" + DEFAULT, "gebiedsmanager 'burgemeester'"),
        (HEAD + "timezone: Europe/Groningen\n" + DEFAULT, "unknown time zone"),
        (
            HEAD + "working_hours: {start: '17:00', end: '08:00'}\n" + DEFAULT,
            "working_hours: Value error, start must be before end",
        ),
        (HEAD + ONE.replace("MATCH", "weekday: [vrijdagmiddag]"), "rules[0].match.weekday[0]"),
        (
            HEAD + ONE.replace("MATCH", "time_of_day: {from: '22:00', until: '22:00'}"),
            "rules[0].match.time_of_day: Value error, from and until must differ",
        ),
        (
            HEAD + ONE.replace("MATCH", "time_of_day: {from: '25:00', until: '06:00'}"),
            "rules[0].match.time_of_day.from",
        ),
        (
            HEAD + ONE.replace("MATCH", "min_recent: {days: 0, count: 3}"),
            "rules[0].match.min_recent.days: Input should be greater than 0",
        ),
        (
            HEAD + ONE.replace("MATCH", "min_recent: {count: 3}"),
            "rules[0].match.min_recent.days: required field is missing",
        ),
        (
            HEAD + ONE.replace("MATCH", "subcategorie: []"),
            "rules[0].match.subcategorie",
        ),
        (
            HEAD
            + ONE.replace("MATCH", "categorie: [zorg]").replace("8\n", "8\n    hours: uren\n", 1),
            "rules[0].hours: Input should be 'kalenderuren' or 'werkuren'",
        ),
        (
            HEAD + "thresholds:\n  - {id: t, categorie: [overlast], window_days: 30, count: 3,"
            " advice: a}\n  - {id: t, categorie: [zorg], window_days: 7, count: 1, advice: b}\n"
            + DEFAULT,
            "thresholds: duplicate id 't'",
        ),
        (
            HEAD + "thresholds:\n  - {id: t, categorie: [], window_days: 30, count: 3}\n" + DEFAULT,
            "thresholds[0].advice: required field is missing",
        ),
    ],
)
def test_a_rule_set_with_broken_new_criteria_is_refused(text: str, message: str) -> None:
    with pytest.raises(RuleSetError) as refused:
        parse_rules(text, PARTNERS)
    assert any(message in p for p in refused.value.problems), refused.value.problems
