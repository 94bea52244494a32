"""Routing's processors: what live consumes and what a replay rebuilds, by construction the same."""

from __future__ import annotations

from typing import Any

from contracts import topics
from contracts.events import (
    FEEDBACK_RECEIVED_TYPE,
    ROUTING_ESCALATED_TYPE,
    SIGNAL_ACCEPTED_TYPE,
    FeedbackReceived,
    SignalAccepted,
)
from services.routing.escalation import on_escalations
from services.routing.handlers import Routing
from services.routing.wijkhub.decisions import DECISIONS, on_decisions
from wijkbus import processor
from wijkbus.processor import Processor


def decisions() -> Processor[Any]:
    """The wijkhub decisions on wijkhubs.events: a replay rebuilds the hubs from them first, so
    its signals fall in the hubs live marked them with. Live decides them through the API."""
    return processor.events(
        "wijkhub-decisions", [topics.WIJKHUBS_EVENTS], on_decisions, only=set(DECISIONS)
    )


def escalations() -> Processor[Any]:
    """Routing's own escalations on routing.events: a replay applies them before the feedback,
    as live took them by its clock (`Escalator`); it never re-takes them by the replay clock."""
    return processor.events(
        "escalations", [topics.ROUTING_EVENTS], on_escalations, only={ROUTING_ESCALATED_TYPE}
    )


def processors(routing: Routing) -> list[Processor[Any]]:
    """Accepted signals, then feedback on them (a replay takes the topics in this order)."""
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
            routing.on_feedback,
            data=FeedbackReceived,
            type_=FEEDBACK_RECEIVED_TYPE,
        ),
    ]
