"""Notify's consumer: queue every event for the subscriptions that want it, atomically."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts.envelope import CloudEvent, to_json_bytes
from services.notify import domain, feed, store

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Fanout:
    """Turns a consumed event into one pending delivery per matching active subscription."""

    clock: Clock

    async def on_events(self, conn: asyncpg.Connection, events: list[CloudEvent]) -> None:
        """Queue each event for every subscription that wants it, in order; announce them all
        to the live feeds. The subscriptions are read once for the batch."""
        subscriptions = await store.active_subscriptions(conn)
        queued = [
            (s.id, event)
            for event in events
            for s in subscriptions
            if domain.matches(s, event.type, event.data)
        ]
        # Compact JSON of the parsed event; for events wijkbus publishes (themselves written
        # with the same writer) these are the bytes that were on the topic.
        await store.add_deliveries(
            conn, [(s, e.source, e.id, e.type, to_json_bytes(e)) for s, e in queued], self.clock()
        )
        # Last: it holds the feed's lock until the transaction commits.
        await feed.announce(conn, events, self.clock())

    async def on_event(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        """One event: a batch of one (the replay sets the subscriptions' state per event)."""
        await self.on_events(conn, [event])
