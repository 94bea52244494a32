"""The budget events as outbox messages on budget.events, keyed by initiative (or year)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
from pydantic import BaseModel

from contracts import topics
from contracts.events import BUDGET_EVENT_TYPES
from wijkbus.outbox import OutgoingMessage, enqueue, event_message

BUDGET_SOURCE = "urn:nld:wijkbus:budget"
_TYPE_OF = {model: type_ for type_, model in BUDGET_EVENT_TYPES.items()}


async def record(conn: asyncpg.Connection, key: str, data: BaseModel, at: datetime) -> None:
    """Put one budget event in the outbox, inside the caller's transaction."""
    await enqueue(conn, message(key, data, at))


def message(key: str, data: BaseModel, at: datetime) -> OutgoingMessage:
    """A budget event as its outbox message on budget.events."""
    type_ = _TYPE_OF.get(type(data))
    if type_ is None:
        raise TypeError(f"{type(data).__name__} is not a budget event")
    return event_message(
        topics.BUDGET_EVENTS,
        key,
        type_,
        BUDGET_SOURCE,
        data,
        id=str(uuid.uuid4()),
        subject=key,
        time=at,
    )
