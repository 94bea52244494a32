"""Rebuild notify's delivery queue from the topics it consumes into a scratch schema, and compare.

`wijkbus replay notify --into SCHEMA [--until TIME]` answers one question: was every event that
matched a subscription queued exactly once for it, and nothing else? It copies the live
subscriptions (notify's configuration: ids, created_at and sealed secrets as stored) into the
scratch schema, reads routing.events, streets.events, wijkhubs.events and budget.events from
offset 0 up to the end they had when the replay began (without a consumer group, so the live
service is not disturbed), and hands every record to notify's own consumer (`Fanout.on_event`),
once per CloudEvent (the scratch schema's inbox), with the clock at the event's time. Nothing is
delivered or published: no worker runs on the scratch schema, so its deliveries stay pending.

The live consumer queues an event for the subscriptions that are active when it handles it: a
subscription hears nothing from before it was created, nor after it was deactivated or deleted.
The replay keeps that rule. Before each event, the scratch subscriptions are set active exactly
when the live ones were at the moment live handled that event (its row in the live inbox), or at
the event's own time when live has not handled it. So the order of the topics does not matter.

Compared, per (subscription, event): whether it was queued, with its channel, type and target.
Status and attempts are not compared, because only delivering changes them. Notify's retention
(services/notify/retention.py) deletes only the delivery log (attempts older than
NOTIFY_ATTEMPT_RETENTION_DAYS). It never deletes deliveries, and attempts are not compared, so
nothing has to be left out because of it. Live rows of events the replay did not read, and which
live handled after the replay began, are left out (live moved on). Live rows of events live
handled before that but that the topics do not hold (topic retention, a broker that lost its
data, a row added by hand) are reported, because the replay cannot vouch for them. So are events
live has not handled yet: run the replay when live has caught up.

That comparison is exact, also for an event live fanned out while a subscription was being
created or ended (`hearing`): the moments compared (the inbox row's processed_at, created_at,
status_changed_at) are drawn with clock_timestamp() under one advisory lock, which a change to
who hears holds exclusively until it commits, and the fan-out shared from before its inbox claim
until it commits, reading the subscriptions under it. So a fan-out whose moment is after a
change's saw that change, and one whose moment is before it did not. A subscription's other
settings (types, filters, an abonnement's kanalen, changed through the Notificaties API) are
copied as they are now, not as they were when live handled an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

import asyncpg

from contracts import topics
from contracts.envelope import CloudEvent
from services.notify.handlers import Fanout
from services.notify.processors import CONSUMER, processors
from wijkbus import inbox, processor, replaying
from wijkbus.replaying import Difference, Progress, Rebuilt, Replay, ReplayClock

HERE = Path(__file__).parent
# The topics of NotifySettings.event_topics, in the order notify subscribes to them.
INPUTS = [
    topics.SIGNALS_ACCEPTED,
    topics.SIGNALS_FEEDBACK,
    topics.ROUTING_EVENTS,
    topics.STREETS_EVENTS,
    topics.WIJKHUBS_EVENTS,
    topics.BUDGET_EVENTS,
]
NOT_YET = "not yet created"  # a scratch subscription's status before its live created_at
_COPIED = (
    "id, owner_partner_id, channel, callback_url, email_address, authorization_enc,"
    " signing_secret_enc, types, filter_partner, filter_buurt_code, filter_street_key, status,"
    " status_reason, created_at, status_changed_at, kanalen, max_in_flight, batch_max_events,"
    " batch_max_wait_ms"
)


@dataclass(frozen=True)
class Lifetime:
    """When a live subscription was active: from its creation until it was ended, if it was."""

    id: UUID
    created_at: datetime
    status: str
    ended_at: datetime | None

    def status_at(self, moment: datetime) -> str:
        """Its status at `moment`. An ended subscription without an end time was never active."""
        if moment < self.created_at:
            return NOT_YET
        if self.status != "active" and (self.ended_at is None or self.ended_at <= moment):
            return self.status
        return "active"


async def rebuild(
    database_url: str,
    bootstrap: str,
    into: str,
    *,
    partners: tuple[str, ...],
    until: datetime | None = None,
    live_schema: str = "notify",
    progress: Progress | None = None,
) -> Rebuilt:
    """Replay the input topics into the empty schema `into` for the live subscriptions."""
    async with replaying.scratch(database_url, into, HERE / "migrations", live_schema) as pool:
        async with pool.acquire() as conn:
            lifetimes = await _copy_subscriptions(conn, into, live_schema)
        clock = ReplayClock()
        fanout = Fanout(clock)

        async def on_event(conn: asyncpg.Connection, event: CloudEvent) -> None:
            handled = await conn.fetchval(
                f"SELECT processed_at FROM {live_schema}.inbox"
                " WHERE consumer = $1 AND message_id = $2",
                CONSUMER,
                inbox.event_key(event),
            )
            moment = handled or event.time or clock.now
            await _set_statuses(conn, {s.id: s.status_at(moment) for s in lifetimes})
            await fanout.on_event(conn, event)

        source = replaying.batches(bootstrap, INPUTS, progress)
        each_at_its_moment = processor.each(on_event)
        done = await Replay(clock, until).run(pool, processors(each_at_its_moment, INPUTS), source)
        async with pool.acquire() as conn:
            await _set_statuses(conn, {s.id: s.status for s in lifetimes})
        return done


async def _copy_subscriptions(
    conn: asyncpg.Connection, into: str, live_schema: str
) -> list[Lifetime]:
    """Copy the live subscriptions as stored; refuse a scratch schema that holds anything."""
    if await conn.fetchval(
        "SELECT EXISTS (SELECT FROM inbox) OR EXISTS (SELECT FROM subscriptions)"
        " OR EXISTS (SELECT FROM deliveries)"
    ):
        raise ValueError(f"schema {into} is not empty: replay into a new schema")
    try:
        await conn.execute(
            f"INSERT INTO subscriptions ({_COPIED}) SELECT {_COPIED}"
            f" FROM {live_schema}.subscriptions"
        )
    except asyncpg.UndefinedTableError:
        raise ValueError(f"the live schema {live_schema} has no subscriptions") from None
    rows = await conn.fetch("SELECT id, created_at, status, status_changed_at FROM subscriptions")
    return [Lifetime(r["id"], r["created_at"], r["status"], r["status_changed_at"]) for r in rows]


async def _set_statuses(conn: asyncpg.Connection, statuses: dict[UUID, str]) -> None:
    """Give the scratch subscriptions these statuses (only the rows that change are written)."""
    await conn.execute(
        "UPDATE subscriptions s SET status = w.status"
        " FROM unnest($1::uuid[], $2::text[]) AS w (id, status)"
        " WHERE s.id = w.id AND s.status <> w.status",
        list(statuses),
        list(statuses.values()),
    )


async def compare(
    database_url: str, into: str, live_schema: str = "notify"
) -> tuple[list[Difference], int]:
    """Every (subscription, event) queued on one side only or differently, and how many live
    deliveries of events that live handled after the replay began were left out."""
    conn = await asyncpg.connect(database_url)
    try:
        began = await conn.fetchval(f"SELECT max(applied_at) FROM {into}.schema_migrations")
        live: dict[str, object] = {}
        newer = 0
        for row in await _queued(conn, live_schema, into, began):
            if row["replayed"] or not row["newer"]:
                live[row["key"]] = _fields(row)
            else:
                newer += 1
        rebuilt: dict[str, object] = {
            row["key"]: _fields(row) for row in await _queued(conn, into, into, began)
        }
        return replaying.differences("deliveries", live, rebuilt), newer
    finally:
        await conn.close()


async def _queued(
    conn: asyncpg.Connection, schema: str, into: str, began: datetime | None
) -> list[asyncpg.Record]:
    """The deliveries of `schema`, each with whether the replay read its event, and whether
    live handled that event after the replay began."""
    return list(
        await conn.fetch(
            "SELECT d.subscription_id::text || ' ' || d.event_source || '|' || d.event_id AS key,"
            # The target as a digest: an e-mail address is personal data, not for a report.
            " s.channel, d.event_type, left(encode(sha256(convert_to(coalesce(s.callback_url,"
            " 'mailto:' || s.email_address, s.channel), 'UTF8')), 'hex'), 16) AS target,"
            " r.message_id IS NOT NULL AS replayed,"
            " coalesce(h.processed_at >= $2, false) AS newer"
            f" FROM {schema}.deliveries d JOIN {schema}.subscriptions s ON s.id = d.subscription_id"
            f" LEFT JOIN {into}.inbox r"
            "  ON r.consumer = $1 AND r.message_id = d.event_source || '|' || d.event_id"
            f" LEFT JOIN {schema}.inbox h"
            "  ON h.consumer = $1 AND h.message_id = d.event_source || '|' || d.event_id",
            CONSUMER,
            began,
        )
    )


def _fields(row: asyncpg.Record) -> tuple[str, str, str]:
    """What a delivery is, apart from delivering it: channel, event type, target."""
    return (row["channel"], row["event_type"], row["target"])
