"""Which CloudEvent types travel on which topic, and the model of each one's `data`: what the
services' AsyncAPI documents show as a topic's payload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

from pydantic import BaseModel

from contracts import topics
from contracts.events import (
    BUDGET_EVENT_TYPES,
    EVENT_TYPES,
    FEEDBACK_RECEIVED_TYPE,
    ROUTING_ACKNOWLEDGED_TYPE,
    ROUTING_ASSIGNED_TYPE,
    ROUTING_ESCALATED_TYPE,
    ROUTING_RESOLVED_TYPE,
    SIGNAL_ACCEPTED_TYPE,
    STREET_THRESHOLD_CROSSED_TYPE,
)
from contracts.receipts import RECEIPT_TYPES, ReceiptData
from contracts.signals import (
    FEEDBACK_ACKNOWLEDGED_TYPE,
    FEEDBACK_RESOLVED_TYPE,
    SIGNAL_TYPE_PREFIX,
    AcknowledgedData,
    ResolvedData,
    SignalData,
)
from contracts.wijkhubs import WIJKHUB_EVENT_TYPES

Types = Mapping[str, type[BaseModel]]


def _of(*names: str) -> dict[str, type[BaseModel]]:
    return {name: EVENT_TYPES[name] for name in names}


TOPIC_TYPES: dict[str, Types] = {
    topics.SIGNALS_ACCEPTED: _of(SIGNAL_ACCEPTED_TYPE),
    topics.SIGNALS_FEEDBACK: _of(FEEDBACK_RECEIVED_TYPE),
    topics.ROUTING_EVENTS: _of(
        ROUTING_ASSIGNED_TYPE,
        ROUTING_ESCALATED_TYPE,
        ROUTING_ACKNOWLEDGED_TYPE,
        ROUTING_RESOLVED_TYPE,
    ),
    topics.STREETS_EVENTS: _of(STREET_THRESHOLD_CROSSED_TYPE),
    topics.WIJKHUBS_EVENTS: WIJKHUB_EVENT_TYPES,
    topics.BUDGET_EVENTS: BUDGET_EVENT_TYPES,
}
"""The internal topics, each with its types and their data models."""

PARTNER_EVENT_TYPES: Types = {
    SIGNAL_TYPE_PREFIX + "<categorie>": SignalData,
    FEEDBACK_ACKNOWLEDGED_TYPE: AcknowledgedData,
    FEEDBACK_RESOLVED_TYPE: ResolvedData,
}
"""What a partner writes on `partners.<id>.events` (CONTRACT.md)."""

RECEIPTS: Types = dict.fromkeys(RECEIPT_TYPES, ReceiptData)
"""What intake answers on `partners.<id>.receipts`."""


def types_of(topic: str) -> Types:
    """The types on `topic` (an internal topic, or a partner's events or receipts topic)."""
    if topic in TOPIC_TYPES:
        return TOPIC_TYPES[topic]
    if topic == topics.PARTNER_EVENTS_PATTERN or topics.partner_id_from_events_topic(topic):
        return PARTNER_EVENT_TYPES
    if topics.is_partner_receipts(topic):
        return RECEIPTS
    raise KeyError(f"no CloudEvent types are known for topic {topic!r}")


def payload_of(types: Types) -> Any:
    """The data model of these types: one model, or the union of them."""
    models = tuple(dict.fromkeys(types.values()))
    return models[0] if len(models) == 1 else Union[models]  # noqa: UP007 (a runtime union)


def describe(types: Types, what: str) -> str:
    """`what` a topic carries, followed by its CloudEvent types."""
    return f"{what} CloudEvents (structured JSON), type: {', '.join(types)}."
