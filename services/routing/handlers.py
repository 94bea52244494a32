"""Routing's handlers: an accepted signal gets a responder; feedback moves its assignment on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts import topics
from contracts.envelope import CloudEvent, new_event
from contracts.events import (
    FEEDBACK_RECEIVED_TYPE,
    ROUTING_ACKNOWLEDGED_TYPE,
    ROUTING_ASSIGNED_TYPE,
    ROUTING_RESOLVED_TYPE,
    SIGNAL_ACCEPTED_TYPE,
    FeedbackReceived,
    ResponderAssigned,
    SignalAccepted,
    SignalAcknowledged,
    SignalResolved,
)
from services.routing import domain, lifecycle, store
from wijkbus.consumer import PermanentError
from wijkbus.logging import get_logger
from wijkbus.outbox import cloud_event_message, enqueue

ROUTING_SOURCE = "urn:nld:wijkbus:routing"
Clock = Callable[[], datetime]
log = get_logger(__name__)


class AssignmentNotYetKnown(Exception):
    """Feedback for a signal routing has not assigned yet: retried, dead-lettered if it persists."""


@dataclass
class Routing:
    """What routing's handlers need: the rule set in force and a clock."""

    ruleset: domain.RuleSet
    clock: Clock

    async def record_ruleset(self, conn: asyncpg.Connection) -> None:
        """Store the rule set in force (once per version) before any signal is routed by it."""
        new = await store.save_ruleset(conn, self.ruleset, self.clock())
        log.info("rules in force", version=self.ruleset.version, new=new)

    async def on_signal_event(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        """signals.accepted: assign a responder, count the incident, announce the assignment."""
        _expect(event, SIGNAL_ACCEPTED_TYPE)
        signal = SignalAccepted.model_validate(event.data)
        assigned = domain.assign(self.ruleset, signal, self.clock())
        # The inbox dedupes per consumer name; this also holds for a replay under another name.
        if not await store.insert_assignment(conn, assigned):
            return
        await store.count_incident(conn, signal)
        await _publish(
            conn, event, ROUTING_ASSIGNED_TYPE, "assigned", assigned, assigned.assigned_at
        )

    async def on_feedback_event(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        """signals.feedback: opgepakt or afgehandeld by the assigned partner."""
        _expect(event, FEEDBACK_RECEIVED_TYPE)
        feedback = FeedbackReceived.model_validate(event.data)
        assignment = await store.assignment_for_update(conn, feedback.signal_id)
        if assignment is None:
            # Live, intake takes feedback only after routing.assigned; on a replay of both
            # topics the feedback consumer may run ahead, so a retry usually finds it.
            raise AssignmentNotYetKnown(f"no assignment for signal {feedback.signal_id}")
        match lifecycle.record_feedback(assignment, feedback):
            case SignalAcknowledged() as acknowledged:
                await store.acknowledge(conn, acknowledged)
                await _publish(
                    conn,
                    event,
                    ROUTING_ACKNOWLEDGED_TYPE,
                    "acknowledged",
                    acknowledged,
                    acknowledged.acknowledged_at,
                )
            case SignalResolved() as resolved:
                await store.resolve(conn, resolved)
                await _publish(
                    conn, event, ROUTING_RESOLVED_TYPE, "resolved", resolved, resolved.resolved_at
                )
            case lifecycle.Ignored(reason):
                log.warning("feedback ignored", signal_id=feedback.signal_id, reason=reason)


def _expect(event: CloudEvent, type_: str) -> None:
    if event.type != type_:
        raise PermanentError(f"unexpected event type {event.type!r}; this consumer takes {type_}")


async def _publish(
    conn: asyncpg.Connection,
    cause: CloudEvent,
    type_: str,
    verb: str,
    data: ResponderAssigned | SignalAcknowledged | SignalResolved,
    at: datetime,
) -> None:
    signal_id = data.signal_id
    extra = cause.model_extra or {}
    trace = {"traceparent": extra["traceparent"]} if extra.get("traceparent") else None
    # A deterministic id lets consumers downstream dedupe whatever routing re-emits.
    out = new_event(
        type_,
        ROUTING_SOURCE,
        data,
        id=f"{verb}-{signal_id}",
        subject=signal_id,
        time=at,
        extensions=trace,
    )
    await enqueue(conn, cloud_event_message(topics.ROUTING_EVENTS, signal_id, out))
