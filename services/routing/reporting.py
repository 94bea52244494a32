"""What routing tells: a log line and a count per assignment and escalation, and gauges of the
open and late assignments per partner, counted by one aggregate query when Prometheus scrapes.

The hot path (signals.route) stays as it is: the batch's signals that had an assignment before
it are looked up by primary key, and those that have one after it read back, in one query
each; one log call per new assignment.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg
from prometheus_client import Counter, Gauge

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

_ASSIGNED_BEFORE = (
    "SELECT coalesce(array_agg(signal_id), '{}') FROM assignments WHERE signal_id = ANY($1::text[])"
)
_ASSIGNED_NOW = (
    "SELECT signal_id, partner_id, rule_id, categorie, acknowledge_by FROM assignments"
    " WHERE signal_id = ANY($1::text[]) AND signal_id <> ALL($2::text[])"
)
_PER_PARTNER = (
    "SELECT partner_id, count(*) AS open,"
    " count(*) FILTER (WHERE status = 'toegewezen' AND acknowledge_by < $1) AS late"
    " FROM assignments WHERE status <> 'afgehandeld' GROUP BY partner_id"
)


async def assigned_before(conn: asyncpg.Connection, signal_ids: list[str]) -> list[str]:
    """Which of `signal_ids` have an assignment already."""
    return list(await conn.fetchval(_ASSIGNED_BEFORE, signal_ids))


async def assigned(conn: asyncpg.Connection, signal_ids: list[str], before: list[str]) -> None:
    """Log and count the assignments of `signal_ids` made since `before` was read."""
    rows = await conn.fetch(_ASSIGNED_NOW, signal_ids, before)
    for row in rows:
        log.info(
            "signal assigned",
            signal_id=row["signal_id"],
            partner_id=row["partner_id"],
            rule_id=row["rule_id"],
            categorie=row["categorie"],
            acknowledge_by=row["acknowledge_by"].isoformat() if row["acknowledge_by"] else None,
        )
    for partner, n in Tally(row["partner_id"] for row in rows).items():
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
