"""The inbox: "consumer C handled message M", recorded in the same transaction as its effects."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from contracts.envelope import CloudEvent


def event_key(event: CloudEvent) -> str:
    """A CloudEvent's message id in the inbox: its identity, `source|id`."""
    return f"{event.source}|{event.id}"


async def claim(conn: asyncpg.Connection, consumer: str, message_id: str) -> bool:
    """Record that `consumer` handles `message_id`; False when it already did (a redelivery)."""
    status = await conn.execute(
        "INSERT INTO inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        consumer,
        message_id,
    )
    return bool(status == "INSERT 0 1")


async def claim_many(conn: asyncpg.Connection, consumer: str, message_ids: list[str]) -> set[str]:
    """Record a batch of messages as handled; return the ids that were new (one round trip)."""
    rows = await conn.fetch(
        "INSERT INTO inbox (consumer, message_id) SELECT $1, unnest($2::text[])"
        " ON CONFLICT DO NOTHING RETURNING message_id",
        consumer,
        message_ids,
    )
    return {r["message_id"] for r in rows}


async def claim_events(
    conn: asyncpg.Connection, consumer: str, events: Iterable[CloudEvent]
) -> list[CloudEvent]:
    """Claim a batch of events at once; the new ones, in order, each once (a later copy in the
    same batch is a redelivery, as it would be one by one)."""
    unique: dict[str, CloudEvent] = {}
    for event in events:
        unique.setdefault(event_key(event), event)
    new = await claim_many(conn, consumer, list(unique))
    return [event for key, event in unique.items() if key in new]
