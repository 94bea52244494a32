"""Feedback on signals, a partition's batch at a time: opgepakt and afgehandeld, in order.

The batch's assignments are locked and read once; `lifecycle.record_feedback` judges each
feedback against the assignment as the batch's earlier feedback left it (pure, in memory); then
one statement per table stores what changed, and the outbox gets every announcement at once.
A single feedback is a batch of one; there is no other write path.
"""

from __future__ import annotations

from dataclasses import replace

import asyncpg

from contracts.codec import Envelope
from contracts.events import (
    ROUTING_ACKNOWLEDGED_TYPE,
    ROUTING_RESOLVED_TYPE,
    FeedbackReceived,
    SignalAcknowledged,
    SignalResolved,
)
from services.routing import lifecycle, store
from services.routing.messages import signal_message
from wijkbus.logging import get_logger
from wijkbus.outbox import OutgoingMessage, enqueue

Feedback = Envelope[FeedbackReceived]
log = get_logger(__name__)


class AssignmentNotYetKnown(Exception):
    """Feedback for a signal routing has not assigned yet: retried, dead-lettered if it persists."""


async def record(conn: asyncpg.Connection, events: list[Feedback]) -> None:
    """signals.feedback: each opgepakt or afgehandeld, in order, the batch at once."""
    found = await store.assignments_for_update(conn, sorted({e.data.signal_id for e in events}))
    missing = sorted({e.data.signal_id for e in events} - found.keys())
    if missing:
        # Live, intake takes feedback only after routing.assigned; on a replay of both topics
        # the feedback consumer may run ahead, so a retry usually finds it.
        raise AssignmentNotYetKnown(f"no assignment for signal {missing[0]}")
    acknowledged: dict[str, SignalAcknowledged] = {}
    resolved: dict[str, SignalResolved] = {}
    messages: list[OutgoingMessage] = []
    for event in events:
        assignment = found[event.data.signal_id]
        match lifecycle.record_feedback(assignment, event.data):
            case SignalAcknowledged() as done:
                found[done.signal_id] = replace(assignment, status="opgepakt")
                acknowledged[done.signal_id] = done
                messages.append(_message(event, ROUTING_ACKNOWLEDGED_TYPE, "acknowledged", done))
            case SignalResolved() as done:
                found[done.signal_id] = replace(assignment, status="afgehandeld")
                resolved[done.signal_id] = done
                messages.append(_message(event, ROUTING_RESOLVED_TYPE, "resolved", done))
            case lifecycle.Ignored(reason):
                log.warning("feedback ignored", signal_id=assignment.signal_id, reason=reason)
    await store.acknowledge_many(conn, list(acknowledged.values()))
    await store.resolve_many(conn, list(resolved.values()))
    await enqueue(conn, *messages)


def _message(
    cause: Feedback, type_: str, verb: str, data: SignalAcknowledged | SignalResolved
) -> OutgoingMessage:
    at = data.acknowledged_at if isinstance(data, SignalAcknowledged) else data.resolved_at
    return signal_message(cause, type_, verb, data, at)
