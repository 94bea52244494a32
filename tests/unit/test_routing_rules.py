"""Routing rules as data: which rule chooses the responder, and which rule sets are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts.events import SignalAccepted
from services.routing.domain import assign, choose_rule, wijk_of
from services.routing.rule_parsing import RuleSetError, parse_rules
from tools.devstack import DEMO_PARTNERS

PARTNERS = ["gemeente-groningen", "politie-groningen", "woonstichting-noord", "wij-groningen"]
NOW = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
RULES = """
version: "7"
municipality: Groningen
rules:
  - id: ondermijning
    match: {categorie: [ondermijning]}
    responder: politie-groningen
    acknowledge_within_hours: 24
  - id: hoogte-overlast
    match: {categorie: [overlast], buurt: [BU00140107]}
    responder: politie-groningen
    acknowledge_within_hours: 8
    escalation:
      - {partner: gemeente-groningen, acknowledge_within_hours: 24}
  - id: korrewegwijk
    match: {wijk: [WK001401]}
    responder: woonstichting-noord
    acknowledge_within_hours: 48
  - id: hoog
    match: {severity: [hoog]}
    responder: wij-groningen
    acknowledge_within_hours: 2
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 72
"""


def signal(**changes: Any) -> SignalAccepted:
    fields: dict[str, Any] = {
        "signal_id": "sig-1",
        "partner_id": "woonstichting-noord",
        "event_source": "urn:nld:kvknr:12345678:systeem:huurbeheer",
        "event_id": "HB-1",
        "categorie": "overlast",
        "subcategory": None,
        "severity": "normaal",
        "observed_at": NOW,
        "received_at": NOW,
        "street_key": "naam:groningen:asingastraat",
        "street": "Asingastraat",
        "city": "Groningen",
        "buurt_code": "BU00140107",
        "openbareruimte_id": None,
    }
    return SignalAccepted(**{**fields, **changes})


@pytest.mark.parametrize(
    ("changes", "rule_id"),
    [
        ({"categorie": "ondermijning"}, "ondermijning"),
        ({"categorie": "ondermijning", "severity": "hoog"}, "ondermijning"),  # first match wins
        ({"categorie": "overlast", "buurt_code": "BU00140107"}, "hoogte-overlast"),
        ({"categorie": "overlast", "buurt_code": "BU00140110"}, "korrewegwijk"),  # wijk 01
        ({"categorie": "vernieling", "buurt_code": "BU00140107"}, "korrewegwijk"),
        ({"categorie": "overlast", "buurt_code": "BU00140207"}, "standaard"),  # other wijk
        ({"categorie": "zorg", "buurt_code": None, "severity": "hoog"}, "hoog"),
        ({"categorie": "overlast", "buurt_code": None}, "standaard"),
        ({"categorie": "vervuiling", "buurt_code": "BU00149999", "severity": "laag"}, "standaard"),
    ],
)
def test_first_matching_rule_chooses_the_responder(changes: dict[str, Any], rule_id: str) -> None:
    ruleset = parse_rules(RULES, PARTNERS)
    assert choose_rule(ruleset, signal(**changes)).id == rule_id


def test_a_buurt_lies_in_the_wijk_named_by_its_first_six_digits() -> None:
    assert wijk_of("BU00140107") == "WK001401"


def test_assignment_records_rule_version_and_deadline() -> None:
    ruleset = parse_rules(RULES, PARTNERS)
    assigned = assign(ruleset, signal(), NOW)
    assert assigned.partner_id == "politie-groningen"
    assert (assigned.rule_id, assigned.ruleset_version) == ("hoogte-overlast", "7")
    assert assigned.acknowledge_by == NOW + timedelta(hours=8)
    assert assigned.assigned_at == NOW
    assert ruleset.rule("hoogte-overlast").escalation[0].partner == "gemeente-groningen"


def test_the_demo_rule_set_is_valid_for_the_demo_partners() -> None:
    text = (Path(__file__).parents[2] / "deploy" / "demo" / "routing-rules.yaml").read_text()
    ruleset = parse_rules(text, [p["id"] for p in DEMO_PARTNERS])
    assert ruleset.municipality == "Groningen"
    assert choose_rule(ruleset, signal(categorie="ondermijning")).responder == "politie-groningen"
    assert choose_rule(ruleset, signal()).responder == "politie-groningen"  # overlast De Hoogte
    huur = choose_rule(ruleset, signal(categorie="huurachterstand"))
    assert (huur.responder, huur.escalation[0].partner) == (
        "woonstichting-noord",
        "wij-groningen",
    )
    assert choose_rule(ruleset, signal(categorie="vervuiling")).responder == "gemeente-groningen"
    in_hub = choose_rule(ruleset, signal(), wijkhub=True)  # overlast in De Hoogte, in a hub
    assert (in_hub.id, in_hub.responder, in_hub.acknowledge_within_hours) == (
        "wijkhub-team",
        "wij-groningen",
        4,
    )


def test_a_numeric_version_is_read_as_text() -> None:
    assert parse_rules(RULES.replace('version: "7"', "version: 7"), PARTNERS).version == "7"


DEFAULT = """
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 72
"""
OTHER = """
  - id: overlast
    match: {categorie: [overlast]}
    responder: politie-groningen
    acknowledge_within_hours: 8
"""
HEAD = "version: '1'\nmunicipality: Groningen\nrules:\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: [1\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping with version, municipality and rules"),
        (
            HEAD + OTHER.replace("politie-groningen", "politie-assen") + DEFAULT,
            "rules[0] (overlast): responder 'politie-assen' is not a registered partner",
        ),
        (
            HEAD
            + OTHER
            + "    escalation: [{partner: brandweer, acknowledge_within_hours: 2}]\n"
            + DEFAULT,
            "rules[0] (overlast): escalation[0].partner 'brandweer' is not a registered partner",
        ),
        (HEAD + OTHER, "no default rule"),
        (HEAD + DEFAULT + OTHER, "rules[0]: the default rule must be the last rule"),
        (
            HEAD + DEFAULT + DEFAULT.replace("standaard", "ook-standaard"),
            "more than one default rule: rules[0], rules[1]",
        ),
        (
            HEAD + OTHER.replace("match:", "kleur: rood\n    match:") + DEFAULT,
            "rules[0].kleur: unknown field",
        ),
        (
            HEAD + OTHER.replace("categorie:", "straat:") + DEFAULT,
            "rules[0].match.straat: unknown field",
        ),
        (HEAD.replace("municipality", "gemeente") + OTHER + DEFAULT, "gemeente: unknown field"),
        (HEAD + OTHER.replace("[overlast]", "[lawaai]") + DEFAULT, "rules[0].match.categorie[0]"),
        (
            HEAD + OTHER.replace("8", "0") + DEFAULT,
            "rules[0].acknowledge_within_hours: Input should be greater than 0",
        ),
        (
            HEAD + OTHER.replace("match: {categorie: [overlast]}", "match: {}") + DEFAULT,
            "rules[0] (overlast): a rule needs a match block",
        ),
        (
            HEAD
            + OTHER
            + DEFAULT.replace("default: true", "default: true\n    match: {wijk: [WK001401]}"),
            "rules[1] (standaard): the default rule must not have a match block",
        ),
        (HEAD + OTHER + OTHER + DEFAULT, "rules[1] (overlast): duplicate rule id"),
        ("municipality: Groningen\nrules:\n" + DEFAULT, "version: required field is missing"),
        (HEAD, "rules: required, a list of at least one rule"),
    ],
)
def test_a_broken_rule_set_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(RuleSetError) as refused:
        parse_rules(text, PARTNERS)
    assert message in str(refused.value)
    assert str(refused.value).startswith("routing rule set refused: ")


def test_every_problem_is_listed_at_once() -> None:
    text = HEAD + OTHER.replace("politie-groningen", "politie-assen").replace(
        "match:", "x: 1\n    match:"
    )
    with pytest.raises(RuleSetError) as refused:
        parse_rules(
            text + OTHER.replace("overlast", "zorg").replace("politie-groningen", "nobody"),
            PARTNERS,
        )
    problems = refused.value.problems
    assert "rules[0].x: unknown field" in problems
    assert "rules[1] (zorg): responder 'nobody' is not a registered partner" in problems
    assert any(p.startswith("no default rule") for p in problems)
