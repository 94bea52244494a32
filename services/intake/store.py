"""asyncpg writes to intake's schema, each one statement for a whole batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from contracts.events import SignalAccepted
from services.intake import chaining, trails


class ReceivedEvent(NamedTuple):
    """A `received_events` row: what identifies an accepted event and what it became."""

    source: str
    event_id: str
    body_hash: str
    partner_id: str
    type: str
    signal_id: str | None  # asyncpg takes a uuid as its text
    received_at: datetime


class StatusChange(NamedTuple):
    """A signal's new lifecycle status, and when."""

    signal_id: str
    status: str
    at: datetime


class Outcome(NamedTuple):
    """An `outcomes` row: one answer given to a partner."""

    partner_id: str
    channel: str
    status: str
    reason: str | None
    at: datetime


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows turned into `width` column lists, the arguments of an `unnest` insert."""
    return [[row[i] for row in rows] for i in range(width)] if rows else [[]] * width


async def lock_events(conn: asyncpg.Connection, keys: Iterable[str]) -> None:
    """Serialise concurrent submissions of the same `source|id` keys, for this transaction."""
    keys = list(keys)
    if not keys:
        return
    # In lock order, so two batches sharing keys take their locks alike and cannot deadlock.
    await conn.execute(
        "SELECT pg_advisory_xact_lock(h) FROM"
        " (SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) k ORDER BY h) locks",
        keys,
    )


class ClaimConflict(Exception):
    """A `(source, id)` the batch was judged new for was received meanwhile: judge it again."""


async def claim_events(conn: asyncpg.Connection, rows: list[ReceivedEvent]) -> None:
    """Record each `(source, id)` as received, chained in its trail as it is written (one
    statement for the batch; the trail's lock is held until the transaction ends)."""
    if not rows:
        return
    rows = [r._replace(signal_id=_canonical_uuid(r.signal_id)) for r in rows]
    head = await chaining.claim_head(
        conn,
        trails.lock_name(trails.RECEIVED),
        "received_events",
        partial(trails.seal, trail=trails.RECEIVED),
    )
    links = chaining.link(
        head.position, head.row_hash, [trails.content_hash_of(trails.RECEIVED, r) for r in rows]
    )
    inserted = await conn.fetchval(
        "WITH claimed AS (INSERT INTO received_events"
        " (source, event_id, body_hash, partner_id, type, signal_id, received_at, position,"
        " prev_hash, row_hash) SELECT source, event_id, body_hash, partner_id, type, signal_id,"
        " received_at, position, prev, hash FROM unnest($1::text[], $2::text[], $3::text[],"
        " $4::text[], $5::text[], $6::uuid[], $7::timestamptz[], $8::bigint[], $9::text[],"
        " $10::text[]) WITH ORDINALITY AS u(source, event_id, body_hash, partner_id, type,"
        " signal_id, received_at, position, prev, hash, n) ORDER BY n"
        " ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM claimed",
        *_columns(rows, 7),
        [link.position for link in links],
        [link.prev_hash for link in links],
        [link.row_hash for link in links],
    )
    if inserted != len(rows):  # the chain's positions would have a gap: none of it stands
        raise ClaimConflict(f"{len(rows) - inserted} of the batch's events were received meanwhile")


def _canonical_uuid(signal_id: str | None) -> str | None:
    """The uuid's text as PostgreSQL gives it back, so the trail hashes what it will read."""
    return None if signal_id is None else str(UUID(signal_id))


async def insert_signals(conn: asyncpg.Connection, signals: list[SignalAccepted]) -> None:
    """Store accepted signals, street level only (one statement for the batch)."""
    if not signals:
        return
    await conn.execute(
        "INSERT INTO signals (signal_id, partner_id, source, event_id, categorie, subcategory,"
        " severity, street_key, street, city, buurt_code, observed_at, received_at)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],"
        " $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],"
        " $12::timestamptz[], $13::timestamptz[])",
        *_columns(
            [
                (
                    s.signal_id,
                    s.partner_id,
                    s.event_source,
                    s.event_id,
                    s.categorie.value,
                    s.subcategory,
                    s.severity.value,
                    s.street_key,
                    s.street,
                    s.city,
                    s.buurt_code,
                    s.observed_at,
                    s.received_at,
                )
                for s in signals
            ],
            13,
        ),
    )


class Assignment(NamedTuple):
    """Who a signal is assigned to now, as routing said: by which rule (None for an escalation,
    which keeps the rule that chose the chain), since when, and by when to take it up."""

    partner_id: str
    rule_id: str | None
    ruleset_version: str | None
    assigned_at: datetime
    acknowledge_by: datetime | None


async def set_assignments(conn: asyncpg.Connection, assignments: dict[str, Assignment]) -> None:
    """Remember who each signal is assigned to now (learned from routing), one statement."""
    if not assignments:
        return
    ids = sorted(assignments)
    rows = [assignments[i] for i in ids]
    await conn.execute(
        "UPDATE signals s SET assigned_partner_id = u.partner_id,"
        " rule_id = coalesce(u.rule_id, s.rule_id),"
        " ruleset_version = coalesce(u.ruleset_version, s.ruleset_version),"
        " assigned_at = u.assigned_at, acknowledge_by = u.acknowledge_by"
        " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],"
        " $6::timestamptz[]) AS u(signal_id, partner_id, rule_id, ruleset_version, assigned_at,"
        " acknowledge_by) WHERE s.signal_id = u.signal_id",
        [UUID(i) for i in ids],
        *_columns(rows, len(Assignment._fields)),
    )


async def set_status(conn: asyncpg.Connection, signal_id: str, status: str, at: datetime) -> None:
    """Record the signal's lifecycle status (opgepakt, afgehandeld) and when it was resolved."""
    await set_statuses(conn, [StatusChange(signal_id, status, at)])


async def set_statuses(conn: asyncpg.Connection, changes: list[StatusChange]) -> None:
    """Apply status changes in order (one statement): the last status wins, the first
    resolution is when the signal was resolved."""
    final: dict[str, tuple[str, datetime | None]] = {}
    for change in changes:
        _, resolved_at = final.get(change.signal_id, ("", None))
        if resolved_at is None and change.status == "afgehandeld":
            resolved_at = change.at
        final[change.signal_id] = (change.status, resolved_at)
    if not final:
        return
    await conn.execute(
        "UPDATE signals s SET status = u.status, resolved_at = coalesce(s.resolved_at,"
        " u.resolved_at) FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])"
        " AS u(signal_id, status, resolved_at) WHERE s.signal_id = u.signal_id",
        [UUID(signal_id) for signal_id in final],
        [status for status, _ in final.values()],
        [resolved_at for _, resolved_at in final.values()],
    )


async def record_outcomes(conn: asyncpg.Connection, outcomes: list[Outcome]) -> None:
    """Count the answers given to partners, in the order given (one statement)."""
    if not outcomes:
        return
    await conn.execute(
        "INSERT INTO outcomes (partner_id, channel, status, reason, at)"
        " SELECT partner_id, channel, status, reason, at FROM unnest($1::text[], $2::text[],"
        " $3::text[], $4::text[], $5::timestamptz[]) WITH ORDINALITY"
        " AS u(partner_id, channel, status, reason, at, n) ORDER BY n",
        *_columns(outcomes, 5),
    )


async def record_person_read(
    conn: asyncpg.Connection, partner_id: str | None, signal_id: str, outcome: str, at: datetime
) -> None:
    """Audit one attempt to read a sealed person (never the person itself)."""
    await conn.execute(
        "INSERT INTO vault_reads (partner_id, signal_id, outcome, at) VALUES ($1, $2, $3, $4)",
        partner_id,
        signal_id[:100],
        outcome,
        at,
    )
