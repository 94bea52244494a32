"""An assignment's life after routing chose the responder: opgepakt, afgehandeld, SLA.

Pure: no I/O and no clock; the escalator passes in the time at which a deadline is judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from contracts.events import (
    FeedbackReceived,
    ResponderEscalated,
    SignalAcknowledged,
    SignalResolved,
)
from services.routing.domain import Escalation, RuleSet
from services.routing.hours import HoursKind

Status = Literal["toegewezen", "opgepakt", "afgehandeld"]
SlaState = Literal["op tijd", "te laat"]
STATUSES: tuple[Status, ...] = ("toegewezen", "opgepakt", "afgehandeld")


@dataclass(frozen=True)
class Assignment:
    """Where a signal's assignment stands now."""

    signal_id: str
    partner_id: str
    status: Status
    street_key: str | None = None
    buurt_code: str | None = None


@dataclass(frozen=True)
class Ignored:
    """Feedback that changes nothing, and why."""

    reason: str


def record_feedback(
    assignment: Assignment, feedback: FeedbackReceived
) -> SignalAcknowledged | SignalResolved | Ignored:
    """What a responder's opgepakt or afgehandeld means for its assignment."""
    if feedback.partner_id != assignment.partner_id:
        return Ignored(
            f"{feedback.kind} from {feedback.partner_id}, "
            f"but the signal is assigned to {assignment.partner_id}"
        )
    if assignment.status == "afgehandeld":
        return Ignored(f"{feedback.kind} after the signal was afgehandeld")
    if feedback.kind == "opgepakt":
        if assignment.status == "opgepakt":
            return Ignored("the signal was already opgepakt")
        return SignalAcknowledged(
            signal_id=assignment.signal_id,
            partner_id=assignment.partner_id,
            acknowledged_at=feedback.received_at,
            street_key=assignment.street_key,
            buurt_code=assignment.buurt_code,
        )
    if feedback.outcome is None:
        return Ignored("afgehandeld without an outcome")
    return SignalResolved(
        signal_id=assignment.signal_id,
        partner_id=assignment.partner_id,
        outcome=feedback.outcome,
        resolved_at=feedback.received_at,
        street_key=assignment.street_key,
        buurt_code=assignment.buurt_code,
    )


def sla_state(
    acknowledge_by: datetime | None, acknowledged_at: datetime | None, now: datetime
) -> SlaState:
    """Whether the responder acknowledged, or can still acknowledge, before its deadline."""
    if acknowledge_by is None:
        return "op tijd"
    return "op tijd" if (acknowledged_at or now) <= acknowledge_by else "te laat"


@dataclass(frozen=True)
class Overdue:
    """An assignment whose acknowledge_by passed without opgepakt, and its remaining chain."""

    signal_id: str
    partner_id: str
    rule_id: str
    step: int
    chain: tuple[Escalation, ...]
    hours: HoursKind
    street_key: str | None = None
    buurt_code: str | None = None


@dataclass(frozen=True)
class Escalated:
    """The escalation of an overdue assignment, and the next deadline (None: no further timer)."""

    event: ResponderEscalated
    step: int
    due_at: datetime | None


def escalate(overdue: Overdue, ruleset: RuleSet, now: datetime) -> Escalated | None:
    """Next partner in the chain; past its end the gebiedsmanager; None when nobody is left."""
    if overdue.step < len(overdue.chain):
        nxt = overdue.chain[overdue.step]
        due = ruleset.deadline(now, nxt.acknowledge_within_hours, overdue.hours)
        to, reason = nxt.partner, f"niet opgepakt; volgende in de keten van {overdue.rule_id}"
    elif ruleset.gebiedsmanager and ruleset.gebiedsmanager != overdue.partner_id:
        due, to = None, ruleset.gebiedsmanager
        reason = f"niet opgepakt; keten van {overdue.rule_id} uitgeput, naar de gebiedsmanager"
    else:
        return None
    event = ResponderEscalated(
        signal_id=overdue.signal_id,
        from_partner_id=overdue.partner_id,
        to_partner_id=to,
        reason=reason,
        escalated_at=now,
        acknowledge_by=due,
        street_key=overdue.street_key,
        buurt_code=overdue.buurt_code,
    )
    return Escalated(event, overdue.step + 1, due)
