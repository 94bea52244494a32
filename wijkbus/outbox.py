"""The outbox: the service's append-only log, written in the handler's transaction and published
afterwards from a position by the relay (`wijkbus.relay`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from pydantic import BaseModel

from contracts.codec import encode
from contracts.envelope import CONTENT_TYPE, CloudEvent, ExtensionValue, to_json_bytes


@dataclass(frozen=True)
class OutgoingMessage:
    """One message for the bus: topic, key (the aggregate) and the value bytes."""

    topic: str
    key: str | None
    value: bytes
    headers: tuple[tuple[str, str], ...] = (("content-type", CONTENT_TYPE),)
    # The event's subject, when the value is a CloudEvent that has one: a log that files
    # messages by subject reads it here instead of parsing the value again.
    subject: str | None = None


def cloud_event_message(topic: str, key: str | None, event: CloudEvent) -> OutgoingMessage:
    """Wrap a CloudEvent as a structured-mode Kafka message."""
    return OutgoingMessage(topic=topic, key=key, value=to_json_bytes(event), subject=event.subject)


def event_message(
    topic: str,
    key: str | None,
    type: str,
    source: str,
    data: BaseModel,
    *,
    id: str,
    subject: str | None,
    time: datetime,
    dataref: str | None = None,
    extensions: Mapping[str, ExtensionValue | None] | None = None,
) -> OutgoingMessage:
    """Our own event as a structured-mode Kafka message, encoded once without a CloudEvent."""
    value = encode(
        type,
        source,
        data,
        id=id,
        subject=subject,
        time=time,
        dataref=dataref,
        extensions=extensions,
    )
    return OutgoingMessage(topic=topic, key=key, value=value, subject=subject)


def insert_one(first: int) -> str:
    """SQL that logs one message whose `values` are the parameters $first to $first+4, up to
    its FROM: a statement that logs a message only when its other writes happened ends it
    (`... FROM step`), so all of it is one statement and one round trip."""
    return (
        "INSERT INTO outbox (topic, key, value, headers, subject)"
        f" SELECT ${first}::text, ${first + 1}::bytea, ${first + 2}::bytea, ${first + 3}::jsonb,"
        f" ${first + 4}::text"
    )


def values(message: OutgoingMessage) -> tuple[str, bytes | None, bytes, str, str | None]:
    """The parameters of `insert_one` for `message`."""
    key = message.key.encode() if message.key is not None else None
    return message.topic, key, message.value, _headers(message.headers), message.subject


def columns(
    messages: Sequence[OutgoingMessage],
) -> tuple[list[str], list[bytes | None], list[bytes], list[str], list[str | None]]:
    """The messages as the column arrays of an `unnest` insert: topic, key, value, headers
    (JSON text), subject."""
    return (
        [m.topic for m in messages],
        [m.key.encode() if m.key is not None else None for m in messages],
        [m.value for m in messages],
        [_headers(m.headers) for m in messages],
        [m.subject for m in messages],
    )


_DEFAULT_HEADERS = json.dumps([["content-type", CONTENT_TYPE]])


def _headers(headers: tuple[tuple[str, str], ...]) -> str:
    if headers == (("content-type", CONTENT_TYPE),):
        return _DEFAULT_HEADERS
    return json.dumps([list(h) for h in headers])


async def enqueue(conn: asyncpg.Connection, *messages: OutgoingMessage) -> None:
    """Append messages to the service's log inside the caller's transaction, in order (one
    statement)."""
    if not messages:
        return
    await conn.execute(
        "INSERT INTO outbox (topic, key, value, headers, subject)"
        " SELECT topic, key, value, headers::jsonb, subject FROM unnest($1::text[], $2::bytea[],"
        " $3::bytea[], $4::text[], $5::text[]) WITH ORDINALITY"
        " AS m(topic, key, value, headers, subject, n) ORDER BY n",
        *columns(messages),
    )
