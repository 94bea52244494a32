"""Routing's outgoing events, each built once as the outbox message it becomes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from contracts import topics
from contracts.envelope import CloudEvent
from contracts.events import (
    ROUTING_ESCALATED_TYPE,
    STREET_THRESHOLD_CROSSED_TYPE,
    ResponderAssigned,
    SignalAcknowledged,
    SignalResolved,
    StreetThresholdCrossed,
)
from contracts.wijkhubs import WIJKHUB_ADVISED_TYPE, WijkhubAdvised
from services.routing import rulechange
from services.routing.lifecycle import Escalated
from wijkbus.outbox import OutgoingMessage, event_message

ROUTING_SOURCE = "urn:nld:wijkbus:routing"


def signal_message(
    cause: CloudEvent,
    type_: str,
    verb: str,
    data: ResponderAssigned | SignalAcknowledged | SignalResolved,
    at: datetime,
) -> OutgoingMessage:
    """The routing.events message saying what became of a signal, keyed by the signal."""
    signal_id = data.signal_id
    # A deterministic id lets consumers downstream dedupe whatever routing re-emits.
    return event_message(
        topics.ROUTING_EVENTS,
        signal_id,
        type_,
        ROUTING_SOURCE,
        data,
        id=f"{verb}-{signal_id}",
        subject=signal_id,
        time=at,
        extensions=_trace(cause),
    )


def crossing_message(
    cause: CloudEvent, crossed: StreetThresholdCrossed, crossings: int
) -> OutgoingMessage:
    """The streets.events message announcing a street's `crossings`-th crossing of a threshold."""
    return event_message(
        topics.STREETS_EVENTS,
        crossed.street_key,
        STREET_THRESHOLD_CROSSED_TYPE,
        ROUTING_SOURCE,
        crossed,
        id=f"threshold-{crossed.street_key}-{crossed.rule_id}-{crossings}",
        subject=crossed.street_key,
        time=crossed.crossed_at,
        extensions=_trace(cause),
    )


def advised_message(
    cause: CloudEvent, crossed: StreetThresholdCrossed, crossings: int
) -> OutgoingMessage:
    """The wijkhubs.events message putting a wijkhub to the wijkteam: the street crossed."""
    advised = WijkhubAdvised(
        **crossed.model_dump(exclude={"crossed_at"}), advised_at=crossed.crossed_at
    )
    key = crossed.street_key
    message = wijkhub_message(
        WIJKHUB_ADVISED_TYPE, key, advised, id=f"advised-{key}-{crossed.rule_id}-{crossings}",
        at=crossed.crossed_at,
    )  # fmt: skip
    return message


def escalated_message(escalated: Escalated, now: datetime) -> OutgoingMessage:
    """The routing.events message handing a signal to the next partner of its chain."""
    signal_id = escalated.event.signal_id
    return event_message(
        topics.ROUTING_EVENTS,
        signal_id,
        ROUTING_ESCALATED_TYPE,
        ROUTING_SOURCE,
        escalated.event,
        id=escalated_id(signal_id, escalated.step),
        subject=signal_id,
        time=now,
    )


def escalated_id(signal_id: str, step: int) -> str:
    """The id of a signal's `step`-th escalation: one per step, however often it is re-sent."""
    return f"escalated-{signal_id}-{step}"


def escalation_step(event_id: str, signal_id: str) -> int:
    """Which step of its signal's chain the routing.escalated event `event_id` is."""
    prefix = f"escalated-{signal_id}-"
    step = event_id.removeprefix(prefix)
    if step == event_id or not step.isdigit():
        raise ValueError(f"{event_id!r} is not an escalation id of signal {signal_id}")
    return int(step)


def rules_changed_message(change: rulechange.RulesChanged, municipality: str) -> OutgoingMessage:
    """The routing.events message announcing a new rule set in force."""
    key = f"rules:{municipality}"
    return event_message(
        topics.ROUTING_EVENTS,
        key,
        rulechange.ROUTING_RULES_CHANGED_TYPE,
        ROUTING_SOURCE,
        change,
        id=f"rules-changed-{change.version}",
        subject=key,
        time=change.changed_at,
    )


def _trace(cause: CloudEvent) -> dict[str, str] | None:
    extra = cause.model_extra or {}
    return {"traceparent": extra["traceparent"]} if extra.get("traceparent") else None


def wijkhub_message(
    type_: str, key: str, data: BaseModel, *, id: str, at: datetime
) -> OutgoingMessage:
    """The wijkhubs.events message of a hub's decision or a street's advice, keyed by the hub
    (the advice and a decision not to open one: by the street)."""
    return event_message(
        topics.WIJKHUBS_EVENTS, key, type_, ROUTING_SOURCE, data, id=id, subject=key, time=at
    )
