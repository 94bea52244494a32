"""An overdue assignment moves along its rule's chain, then to the gebiedsmanager, then stops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.routing.domain import Escalation
from services.routing.lifecycle import Overdue, escalate
from services.routing.rule_parsing import parse_rules
from tests.unit.test_routing_rules import PARTNERS

NOW = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # Friday 22:00 in Amsterdam
CHAIN = (
    Escalation(partner="gemeente-groningen", acknowledge_within_hours=24),
    Escalation(partner="wij-groningen", acknowledge_within_hours=4),
)
RULES = """
version: "1"
municipality: Groningen
gebiedsmanager: gemeente-groningen
rules:
  - id: standaard
    default: true
    responder: politie-groningen
    acknowledge_within_hours: 8
"""


def overdue(step: int, partner: str, hours: str = "kalenderuren") -> Overdue:
    return Overdue("s1", partner, "overlast", step, CHAIN, hours)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("step", "partner", "to", "due"),
    [
        (0, "politie-groningen", "gemeente-groningen", NOW + timedelta(hours=24)),
        (1, "gemeente-groningen", "wij-groningen", NOW + timedelta(hours=4)),
        (2, "wij-groningen", "gemeente-groningen", None),  # past the chain: gebiedsmanager
    ],
)
def test_an_overdue_assignment_goes_to_the_next_in_the_chain(
    step: int, partner: str, to: str, due: datetime | None
) -> None:
    escalated = escalate(overdue(step, partner), parse_rules(RULES, PARTNERS), NOW)
    assert escalated is not None
    assert (escalated.event.from_partner_id, escalated.event.to_partner_id) == (partner, to)
    assert escalated.event.acknowledge_by == escalated.due_at == due
    assert escalated.event.escalated_at == NOW
    assert escalated.step == step + 1


def test_the_chain_counts_working_hours_when_the_rule_does() -> None:
    escalated = escalate(
        overdue(1, "gemeente-groningen", "werkuren"), parse_rules(RULES, PARTNERS), NOW
    )
    assert escalated is not None
    # Friday night: Monday 08:30 + 4 hours, Amsterdam time.
    assert escalated.due_at == datetime(2026, 11, 23, 11, 30, tzinfo=UTC)


def test_nobody_left_when_the_gebiedsmanager_already_has_it_or_none_is_configured() -> None:
    with_manager = parse_rules(RULES, PARTNERS)
    without = parse_rules(RULES.replace("gebiedsmanager: gemeente-groningen\n", ""), PARTNERS)
    assert escalate(overdue(2, "gemeente-groningen"), with_manager, NOW) is None
    assert escalate(overdue(2, "wij-groningen"), without, NOW) is None


def test_an_escalation_says_where_the_signal_is() -> None:
    placed = Overdue("s1", "politie-groningen", "overlast", 0, CHAIN, "kalenderuren",
                     "naam:groningen:asingastraat", "BU00140107")  # type: ignore[arg-type]  # fmt: skip
    escalated = escalate(placed, parse_rules(RULES, PARTNERS), NOW)
    assert escalated is not None
    assert (escalated.event.street_key, escalated.event.buurt_code) == (
        "naam:groningen:asingastraat",
        "BU00140107",
    )
