"""An assignment's life after routing chose the responder: opgepakt, afgehandeld, SLA.

Pure: no I/O and no clock; issue 4's escalation timers belong here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from contracts.events import FeedbackReceived, SignalAcknowledged, SignalResolved

Status = Literal["toegewezen", "opgepakt", "afgehandeld"]
SlaState = Literal["op tijd", "te laat"]
STATUSES: tuple[Status, ...] = ("toegewezen", "opgepakt", "afgehandeld")


@dataclass(frozen=True)
class Assignment:
    """Where a signal's assignment stands now."""

    signal_id: str
    partner_id: str
    status: Status


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
        )
    if feedback.outcome is None:
        return Ignored("afgehandeld without an outcome")
    return SignalResolved(
        signal_id=assignment.signal_id,
        partner_id=assignment.partner_id,
        outcome=feedback.outcome,
        resolved_at=feedback.received_at,
    )


def sla_state(
    acknowledge_by: datetime | None, acknowledged_at: datetime | None, now: datetime
) -> SlaState:
    """Whether the responder acknowledged, or can still acknowledge, before its deadline."""
    if acknowledge_by is None:
        return "op tijd"
    return "op tijd" if (acknowledged_at or now) <= acknowledge_by else "te laat"
