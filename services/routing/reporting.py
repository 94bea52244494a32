"""What routing tells: a log line and a count per assignment and escalation, and gauges of the
open and late assignments per partner, counted by one aggregate query when Prometheus scrapes.

The hot path costs one log call per new assignment: `signals.route` returns the assignments it
made, so nothing is read back.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg
from prometheus_client import Counter, Gauge

from contracts.events import ResponderAssigned
from services.routing import lifecycle
from wijkbus.logging import get_logger
from wijkbus.sampling import Sampler

log = get_logger(__name__)

ASSIGNMENTS = Counter(
    "wijkbus_routing_assignments_total", "Signals assigned to a first responder", ["partner"]
)
ESCALATIONS = Counter(
    "wijkbus_routing_escalations_total",
    "Missed acknowledge deadlines (escalated, or nobody left to escalate to), by the partner"
    " that missed it",
    ["partner"],
)
OPEN = Gauge(
    "wijkbus_routing_open_assignments", "Assignments not yet afgehandeld, per partner", ["partner"]
)
LATE = Gauge(
    "wijkbus_routing_late_assignments",
    "Assignments past their acknowledge deadline and not opgepakt (an SLA breach), per partner",
    ["partner"],
)

_PER_PARTNER = (
    "SELECT partner_id, count(*) AS open,"
    " count(*) FILTER (WHERE status = 'toegewezen' AND acknowledge_by < $1) AS late"
    " FROM assignments WHERE status <> 'afgehandeld' GROUP BY partner_id"
)


def assigned(made: Sequence[ResponderAssigned]) -> None:
    """Log and count the assignments a batch made."""
    for a in made:
        log.info(
            "signal assigned",
            signal_id=a.signal_id,
            partner_id=a.partner_id,
            rule_id=a.rule_id,
            categorie=a.categorie.value,
            acknowledge_by=a.acknowledge_by.isoformat() if a.acknowledge_by else None,
        )
    for partner, n in Tally(a.partner_id for a in made).items():
        ASSIGNMENTS.labels(partner).inc(n)


def escalated(moved: Sequence[lifecycle.Escalated], ended: Sequence[lifecycle.Overdue]) -> None:
    """Log and count a round's escalations, and the deadlines nobody was left to escalate to."""
    for e in moved:
        data = e.event
        ESCALATIONS.labels(data.from_partner_id).inc()
        log.info(
            "assignment escalated",
            signal_id=data.signal_id,
            partner_id=data.from_partner_id,
            to_partner_id=data.to_partner_id,
            step=e.step,
            reason=data.reason,
        )
    for item in ended:
        ESCALATIONS.labels(item.partner_id).inc()
        log.warning(
            "deadline passed, nobody left to escalate to",
            signal_id=item.signal_id,
            partner_id=item.partner_id,
            rule_id=item.rule_id,
        )


def exported(partners: Sequence[str]) -> None:
    """Export every partner's counters at 0 from the start: an alert on their increase sees
    the first one, and a panel shows a partner with none."""
    for partner in partners:
        ASSIGNMENTS.labels(partner)
        ESCALATIONS.labels(partner)


def assignment_gauges(
    pool: Callable[[], asyncpg.Pool], partners: Sequence[str], clock: Callable[[], datetime]
) -> Sampler:
    """A sampler: open and late assignments per partner (0 for a partner with none)."""

    async def assignment_gauges() -> None:
        rows = await pool().fetch(_PER_PARTNER, clock())
        found = {r["partner_id"]: r for r in rows}
        for partner in {*partners, *found}:
            row = found.get(partner)
            OPEN.labels(partner).set(row["open"] if row else 0)
            LATE.labels(partner).set(row["late"] if row else 0)

    return assignment_gauges
