"""The background task that fires overdue escalation timers and picks up new rule sets; and
what a replay takes of it: the escalations live recorded, applied again.

Timers live in PostgreSQL, so they survive restarts; each due row is taken under
FOR UPDATE SKIP LOCKED and moved or deleted in the same transaction as the outbox event,
so a timer fires exactly once however many instances run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import asyncpg

from contracts.envelope import CloudEvent
from contracts.events import ROUTING_ESCALATED_TYPE, ResponderEscalated
from services.routing import lifecycle, messages, store
from services.routing.domain import RuleSet
from services.routing.handlers import Routing
from wijkbus.periodic import Periodic


class Escalator:
    """Polls for due timers every `interval_s` seconds while the service runs."""

    def __init__(
        self, pool: Callable[[], asyncpg.Pool], routing: Routing, interval_s: float
    ) -> None:
        self._pool = pool
        self._routing = routing
        # A lost connection or a deadlock victim fails a round: the timers stay due until the next.
        self._periodic = Periodic("routing-escalator", self._round, interval_s)

    async def fire_due(self) -> int:
        """Escalate what is due now, in batches of one transaction each; how many fired."""
        fired = 0
        while True:
            async with self._pool().acquire() as conn, conn.transaction():
                count = await self._routing.escalate_due(conn)
            fired += count
            if count == 0:
                return fired

    async def start(self) -> None:
        """Start polling in the background."""
        self._periodic.start()

    async def stop(self) -> None:
        """Stop polling; a transaction in flight rolls back and its timers stay due."""
        await self._periodic.stop()

    async def _round(self) -> None:
        async with self._pool().acquire() as conn:
            await self._routing.refresh(conn)
        await self.fire_due()


async def on_escalations(conn: asyncpg.Connection, events: list[CloudEvent]) -> None:
    """routing.events on a replay: each escalation live recorded, applied again in order by the
    statement the escalator runs; the other events are derived from the inputs and rebuilt."""
    await store.escalate_many(
        conn, [recorded(e) for e in events if e.type == ROUTING_ESCALATED_TYPE]
    )


def recorded(event: CloudEvent) -> lifecycle.Escalated:
    """The escalation a routing.escalated event records (its step is in the event's id)."""
    data = ResponderEscalated.model_validate(event.data)
    step = messages.escalation_step(event.id, data.signal_id)
    return lifecycle.Escalated(data, step, data.acknowledge_by)


async def drop_exhausted(conn: asyncpg.Connection, ruleset: RuleSet, now: datetime) -> int:
    """Drop the timers due by `now` with nobody left to escalate to, as the escalator does
    (it publishes nothing then); leave every other due timer; how many were dropped."""
    pending = await conn.fetchval("SELECT count(*) FROM escalation_timers")
    due = await store.due_timers(conn, now, pending)
    ended = [d.signal_id for d in due if lifecycle.escalate(d, ruleset, now) is None]
    await store.escalate_many(conn, [], ended)
    return len(ended)
