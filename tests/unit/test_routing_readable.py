"""Routing's pages write rules, durations and counts as people would, in Dutch."""

from __future__ import annotations

from services.routing.domain import Match, MinRecent, Threshold
from services.routing.web.readable import (
    counts_text,
    duration,
    match_sentence,
    street_text,
    threshold_sentence,
)


def test_durations_read_in_hours_then_whole_days() -> None:
    assert duration(24) == "24 uur"
    assert duration(8.5) == "8,5 uur"
    assert duration(48) == "2 dagen"
    assert duration(60) == "60 uur"
    assert duration(16, "werkuren") == "16 werkuren"


def test_a_rules_match_reads_as_one_sentence() -> None:
    match = Match.model_validate(
        {
            "categorie": ["overlast", "vernieling"],
            "buurt": ["BU00140107"],
            "weekday": ["zaterdag", "zondag"],
            "time_of_day": {"from": "22:00", "until": "06:00"},
            "min_recent": {"days": 30, "count": 3},
        }
    )
    assert match_sentence(match) == (
        "Categorie overlast of vernieling, in buurt BU00140107, op zaterdag of zondag,"
        " tussen 22:00 en 06:00 en 3 of meer meldingen in de straat in de laatste 30 dagen"
    )
    assert match_sentence(None) == "alle signalen"
    assert match_sentence(Match(wijkhub=True)) == "In een lopende wijkhub"


def test_a_min_recent_of_one_categorie_names_it() -> None:
    only = Match(
        min_recent=MinRecent.model_validate({"days": 1, "count": 1, "categorie": ["zorg"]})
    )
    assert match_sentence(only) == "1 of meer meldingen (zorg) in de straat in de laatste dag"


def test_thresholds_and_their_counts_read_without_json() -> None:
    threshold = Threshold.model_validate(
        {"id": "wijkhub", "categorie": ["overlast"], "window_days": 14, "count": 5, "advice": "x"}
    )
    assert threshold_sentence(threshold) == (
        "5 of meer meldingen (overlast) in de straat in de laatste 14 dagen"
    )
    assert counts_text('{"overlast": 3, "vernieling": 1}') == "overlast 3, vernieling 1"
    assert counts_text({}) == "—"


def test_a_street_reads_as_name_and_city_or_its_key() -> None:
    assert street_text("Asingastraat", "Groningen", "k") == "Asingastraat, Groningen"
    assert street_text(None, None, "naam:groningen:x") == "naam:groningen:x"
