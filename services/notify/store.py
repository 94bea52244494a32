"""asyncpg queries for notify's schema."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.notify import hearing
from services.notify.domain import Filters, Subscription

_VIEW = (
    "SELECT id, owner_partner_id, channel, callback_url, email_address, types, filter_partner,"
    " filter_buurt_code, filter_street_key, status, status_reason, created_at, content_mode,"
    " max_in_flight, batch_max_events, batch_max_wait_ms FROM subscriptions"
)


@dataclass(frozen=True)
class NewSubscription:
    """A subscription as the API stores it (secrets already sealed)."""

    id: UUID
    owner_partner_id: str | None
    channel: str
    callback_url: str | None
    email_address: str | None
    authorization_enc: bytes | None
    signing_secret_enc: bytes | None
    types: Sequence[str]
    filters: Filters
    kanalen: list[dict[str, Any]] | None = None  # an abonnement's (channel 'notificaties')
    content_mode: str = "structured"
    max_in_flight: int = 8
    batch_max_events: int | None = None  # batched webhooks: both set, else neither
    batch_max_wait_ms: int | None = None


@dataclass(frozen=True)
class DueDelivery:
    """The head of a subscription's queue, with what sending it needs."""

    id: int
    subscription_id: UUID
    event_id: str
    body: bytes
    attempts: int
    next_attempt_at: datetime
    channel: str
    callback_url: str | None
    email_address: str | None
    authorization_enc: bytes | None
    signing_secret_enc: bytes | None
    event_type: str
    content_mode: str = "structured"
    batch_id: UUID | None = None
    max_in_flight: int = 8  # the subscription's bound on sends at once


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


async def insert_subscription(conn: asyncpg.Connection, s: NewSubscription) -> None:
    """Store a subscription that passed its test delivery, in the caller's transaction; its
    created_at is the moment it starts hearing (`hearing`)."""
    await hearing.changing(conn)
    await conn.execute(
        "INSERT INTO subscriptions (id, owner_partner_id, channel, callback_url, email_address,"
        " authorization_enc, signing_secret_enc, types, filter_partner, filter_buurt_code,"
        " filter_street_key, created_at, kanalen, content_mode, max_in_flight, batch_max_events,"
        " batch_max_wait_ms)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,clock_timestamp(),$12::jsonb,$13,$14,$15,$16)",
        s.id,
        s.owner_partner_id,
        s.channel,
        s.callback_url,
        s.email_address,
        s.authorization_enc,
        s.signing_secret_enc,
        list(s.types),
        s.filters.partner,
        s.filters.buurt_code,
        s.filters.street_key,
        None if s.kanalen is None else json.dumps(s.kanalen),
        s.content_mode,
        s.max_in_flight,
        s.batch_max_events,
        s.batch_max_wait_ms,
    )


async def subscription(
    conn: asyncpg.Connection, subscription_id: str, owner: str | None
) -> asyncpg.Record | None:
    """One subscription that is not deleted; with `owner`, only if that partner owns it."""
    key = _uuid(subscription_id)
    if key is None:
        return None
    return await conn.fetchrow(
        _VIEW + " WHERE id = $1 AND status <> 'deleted'"
        " AND ($2::text IS NULL OR owner_partner_id = $2)",
        key,
        owner,
    )


async def subscriptions(conn: asyncpg.Connection, owner: str | None) -> list[asyncpg.Record]:
    """Subscriptions that are not deleted; with `owner`, only that partner's."""
    return list(
        await conn.fetch(
            _VIEW + " WHERE status <> 'deleted' AND ($1::text IS NULL OR owner_partner_id = $1)"
            " ORDER BY created_at, id",
            owner,
        )
    )


async def end_subscription(
    conn: asyncpg.Connection, subscription_id: UUID, status: str, reason: str, at: datetime
) -> None:
    """Deactivate or delete a subscription, in the caller's transaction; its status_changed_at
    is the moment it stops hearing (`hearing`). Its pending deliveries are cancelled with the
    reason, finished `at`."""
    await hearing.changing(conn)
    await conn.execute(
        "UPDATE subscriptions SET status = $2, status_reason = $3,"
        " status_changed_at = clock_timestamp() WHERE id = $1",
        subscription_id,
        status,
        reason,
    )
    await conn.execute(
        "UPDATE deliveries SET status = 'cancelled', last_error = $2, finished_at = $3"
        " WHERE subscription_id = $1 AND status = 'pending'",
        subscription_id,
        reason,
        at,
    )


async def active_subscriptions(conn: asyncpg.Connection) -> list[Subscription]:
    """Every active subscription, as matching needs it."""
    rows = await conn.fetch(
        "SELECT id, types, filter_partner, filter_buurt_code, filter_street_key, kanalen"
        " FROM subscriptions WHERE status = 'active'"
    )
    return [
        Subscription(
            id=str(r["id"]),
            types=tuple(r["types"]),
            filters=Filters(r["filter_partner"], r["filter_buurt_code"], r["filter_street_key"]),
            kanalen=None if r["kanalen"] is None else json.loads(r["kanalen"]),
        )
        for r in rows
    ]


# Each distinct body once (delivery_bodies), then the deliveries pointing at theirs, in order;
# a body is kept only when a delivery that was not queued already points at it.
_ADD = (
    "WITH b AS (SELECT nextval('delivery_bodies_id_seq') AS id, u.body, u.n"
    "  FROM unnest($5::bytea[]) WITH ORDINALITY AS u(body, n)),"
    " added AS (INSERT INTO deliveries (subscription_id, event_source, event_id, event_type,"
    "  body_id, subject, next_attempt_at, created_at)"
    "  SELECT u.s, u.source, u.id, u.type, b.id, u.subject, $8, $8"
    "  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $6::bigint[], $7::text[])"
    "  WITH ORDINALITY AS u(s, source, id, type, body, subject, n) JOIN b ON b.n = u.body"
    "  ORDER BY u.n ON CONFLICT (subscription_id, event_source, event_id) DO NOTHING"
    "  RETURNING body_id)"
    " INSERT INTO delivery_bodies (id, body)"
    " SELECT b.id, b.body FROM b WHERE b.id IN (SELECT body_id FROM added)"
)


async def add_deliveries(
    conn: asyncpg.Connection,
    queued: Sequence[tuple[str, str, str, str, bytes, str]],
    at: datetime,
) -> None:
    """Queue (subscription, source, event id, type, body, subject) rows in order, in one
    statement, each distinct body stored once; an event already queued for a subscription is
    left alone."""
    if not queued:
        return
    bodies: dict[bytes, int] = {}  # body -> its place in the array (1-based, as ORDINALITY)
    for q in queued:
        bodies.setdefault(q[4], len(bodies) + 1)
    await conn.execute(
        _ADD,
        [UUID(q[0]) for q in queued],
        [q[1] for q in queued],
        [q[2] for q in queued],
        [q[3] for q in queued],
        list(bodies),
        [bodies[q[4]] for q in queued],
        [q[5] for q in queued],
        at,
    )


async def dead_deliveries(conn: asyncpg.Connection, owner: str | None) -> list[asyncpg.Record]:
    """Deliveries given up on; with `owner`, only those of that partner's subscriptions."""
    return list(
        await conn.fetch(
            "SELECT d.id, d.subscription_id, d.event_type, d.event_id, d.attempts, d.last_error,"
            " d.finished_at FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id"
            " WHERE d.status = 'dead' AND ($1::text IS NULL OR s.owner_partner_id = $1)"
            " ORDER BY d.finished_at DESC, d.id DESC LIMIT 500",
            owner,
        )
    )


async def retry_dead(
    conn: asyncpg.Connection, delivery_id: int, owner: str | None, at: datetime
) -> str:
    """Queue a dead delivery again, fresh attempt budget: 'queued', 'inactive' or 'unknown'."""
    row = await conn.fetchrow(
        "SELECT s.status FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id"
        " WHERE d.id = $1 AND d.status = 'dead' AND ($2::text IS NULL OR s.owner_partner_id = $2)",
        delivery_id,
        owner,
    )
    if row is None:
        return "unknown"
    if row["status"] != "active":
        return "inactive"
    await conn.execute(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2,"
        " finished_at = NULL, last_error = 'retried by an operator: ' || coalesce(last_error, '')"
        " WHERE id = $1 AND status = 'dead'",
        delivery_id,
        at,
    )
    # The trigger wakes workers on INSERT only; a retried row must wake them too.
    await conn.execute("SELECT pg_notify(current_schema() || '_deliveries', '')")
    return "queued"
