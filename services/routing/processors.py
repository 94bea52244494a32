"""Routing's processors: what live consumes and what a replay rebuilds, by construction the same."""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts import topics
from contracts.envelope import CloudEvent
from contracts.events import (
    FEEDBACK_RECEIVED_TYPE,
    ROUTING_ESCALATED_TYPE,
    SIGNAL_ACCEPTED_TYPE,
    FeedbackReceived,
    SignalAccepted,
)
from services.routing.escalation import on_escalations
from services.routing.handlers import Routing
from services.routing.verdicts import ANNOUNCED, Accepted
from services.routing.wijkhub.decisions import DECISIONS, on_decisions
from wijkbus import processor
from wijkbus.processor import BatchHandler, Processor


def decisions() -> Processor[Any]:
    """The wijkhub decisions on wijkhubs.events: a replay rebuilds the hubs from them first, so
    its signals fall in the hubs live marked them with. Live decides them through the API."""
    return processor.events(
        "wijkhub-decisions", [topics.WIJKHUBS_EVENTS], on_decisions, only=set(DECISIONS)
    )


def escalations(accepted: Accepted) -> Processor[Any]:
    """Routing's own decisions on routing.events: a replay applies the escalations before the
    feedback, as live took them by its clock (`Escalator`), and takes in which feedback live
    accepted (`verdicts`); it never re-takes either by the replay clock."""

    async def as_recorded(conn: asyncpg.Connection, events: list[CloudEvent]) -> None:
        accepted.take(events)
        await on_escalations(conn, events)

    only = {ROUTING_ESCALATED_TYPE, *ANNOUNCED}
    return processor.events("escalations", [topics.ROUTING_EVENTS], as_recorded, only=only)


def processors(
    routing: Routing, on_feedback: BatchHandler[Any] | None = None
) -> list[Processor[Any]]:
    """Accepted signals, then feedback on them (a replay takes the topics in this order, and
    hands the feedback to `on_feedback`: routing's, given only what live accepted)."""
    return [
        processor.events(
            "signals",
            [topics.SIGNALS_ACCEPTED],
            routing.on_signals,
            data=SignalAccepted,
            type_=SIGNAL_ACCEPTED_TYPE,
        ),
        processor.events(
            "feedback",
            [topics.SIGNALS_FEEDBACK],
            on_feedback or routing.on_feedback,
            data=FeedbackReceived,
            type_=FEEDBACK_RECEIVED_TYPE,
        ),
    ]
