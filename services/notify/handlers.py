"""Notify's consumer: queue every event for the subscriptions that want it, atomically."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts.envelope import CloudEvent, to_json_bytes
from services.notify import domain, feed, store
from services.notify.notificaties import kanalen

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Fanout:
    """Turns a consumed event into one pending delivery per matching active subscription."""

    clock: Clock
    urls: kanalen.Urls = kanalen.UNCONFIGURED

    async def on_events(self, conn: asyncpg.Connection, events: list[CloudEvent]) -> None:
        """Queue each event for every subscription that wants it, in order; announce them all
        to the live feeds. The subscriptions are read once for the batch."""
        subscriptions = await store.active_subscriptions(conn)
        queued: list[tuple[str, str, str, str, bytes, str]] = []
        for event in events:
            for s in subscriptions:
                if domain.matches(s, event.type, event.data):
                    body = self._body(s, event)
                    if body is not None:
                        queued.append(
                            (s.id, event.source, event.id, event.type, body, subject(event))
                        )
        await store.add_deliveries(conn, queued, self.clock())
        # Last: it holds the feed's lock until the transaction commits. The live feeds show
        # what routing, the wijkhub and budget decide, as before notify heard intake's signals
        # too (for the signalen kanaal); intake has a dashboard of its own.
        shown = [e for e in events if not e.type.startswith(domain.SIGNAL_TYPES)]
        await feed.announce(conn, shown, self.clock())

    def _body(self, subscription: domain.Subscription, event: CloudEvent) -> bytes | None:
        """What the subscription is sent: the event as compact JSON (for events wijkbus
        publishes, the bytes that were on the topic); an abonnement, its `notificatie` when
        one of its kanalen takes it."""
        if subscription.kanalen is None:
            return to_json_bytes(event)
        note = kanalen.notificatie(event.type, event.data, event.time or self.clock(), self.urls)
        if note is None or not kanalen.wanted(subscription.kanalen, note):
            return None
        return json.dumps(note, ensure_ascii=False, separators=(",", ":")).encode()

    async def on_event(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        """One event: a batch of one (the replay sets the subscriptions' state per event)."""
        await self.on_events(conn, [event])


def subject(event: CloudEvent) -> str:
    """What a delivery keeps its order by: the event's subject (a signal, a street, an
    initiative); events without one keep their order among themselves."""
    return event.subject or ""
