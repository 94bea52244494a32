"""Notify's consumer: queue every event for the subscriptions that want it, atomically."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

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
        matcher = domain.Matcher(await store.active_subscriptions(conn))
        queued: list[tuple[str, str, str, str, bytes, str]] = []
        for event in events:
            wanting = matcher.wanting(event.type, event.data)
            if not wanting:
                continue
            bodies = _Bodies(event, self.urls, self.clock)  # each shape made once per event
            for s in wanting:
                body = bodies.of(s)
                if body is not None:
                    queued.append((s.id, event.source, event.id, event.type, body, subject(event)))
        await store.add_deliveries(conn, queued, self.clock())
        # Last: it holds the feed's lock until the transaction commits. The live feeds show
        # what routing, the wijkhub and budget decide, as before notify heard intake's signals
        # too (for the signalen kanaal); intake has a dashboard of its own.
        shown = [e for e in events if not e.type.startswith(domain.SIGNAL_TYPES)]
        await feed.announce(conn, shown, self.clock())

    async def on_event(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        """One event: a batch of one (the replay sets the subscriptions' state per event)."""
        await self.on_events(conn, [event])


class _Bodies:
    """What the subscriptions are sent of one event, each form made once: the event as compact
    JSON (for events wijkbus publishes, the bytes that were on the topic), or for an abonnement
    its `notificatie` when one of its kanalen takes it."""

    def __init__(self, event: CloudEvent, urls: kanalen.Urls, clock: Clock) -> None:
        self.event, self.urls, self.clock = event, urls, clock

    @cached_property
    def structured(self) -> bytes:
        return to_json_bytes(self.event)

    @cached_property
    def notificatie(self) -> tuple[dict[str, Any] | None, bytes]:
        e = self.event
        note = kanalen.notificatie(e.type, e.data, e.time or self.clock(), self.urls)
        return note, json.dumps(note, ensure_ascii=False, separators=(",", ":")).encode()

    def of(self, subscription: domain.Subscription) -> bytes | None:
        if subscription.kanalen is None:
            return self.structured
        note, body = self.notificatie
        return body if note is not None and kanalen.wanted(subscription.kanalen, note) else None


def subject(event: CloudEvent) -> str:
    """What a delivery keeps its order by: the event's subject (a signal, a street, an
    initiative); events without one keep their order among themselves."""
    return event.subject or ""
