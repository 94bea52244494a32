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

    async def on_event(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        """Queue `event` for every subscription that wants it; announce it to the live feeds."""
        await feed.announce(conn, event)
        wanted = [
            s.id
            for s in await store.active_subscriptions(conn)
            if domain.matches(s, event.type, event.data)
        ]
        if wanted:
            await store.add_deliveries(
                conn,
                wanted,
                source=event.source,
                event_id=event.id,
                event_type=event.type,
                # Compact JSON of the parsed event; for events wijkbus publishes (themselves
                # written with to_json_bytes) these are the bytes that were on the topic.
                body=to_json_bytes(event),
                at=self.clock(),
            )
