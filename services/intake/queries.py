"""asyncpg read queries of intake's schema: what the handlers judge by, and what the API and
dashboard show."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from uuid import UUID

import asyncpg

from services.intake.domain import PreviousEvent, SignalState


async def previous_events(
    conn: asyncpg.Connection, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], PreviousEvent]:
    """What was stored for each `(source, id)` already received, by that key."""
    if not keys:
        return {}
    rows = await conn.fetch(
        "SELECT r.source, r.event_id, r.body_hash, r.signal_id FROM received_events r"
        " JOIN unnest($1::text[], $2::text[]) AS u(source, event_id) USING (source, event_id)",
        [source for source, _ in keys],
        [event_id for _, event_id in keys],
    )
    return {
        (r["source"], r["event_id"]): PreviousEvent(
            r["body_hash"], str(r["signal_id"]) if r["signal_id"] else None
        )
        for r in rows
    }


async def signal_states(
    conn: asyncpg.Connection, signal_ids: Iterable[str]
) -> dict[str, SignalState]:
    """The current assignment of each of these signals that exists, by signal id."""
    keys = []
    for signal_id in signal_ids:
        try:
            keys.append(UUID(signal_id))
        except ValueError:
            continue  # not a signal id intake hands out: no such signal
    if not keys:
        return {}
    rows = await conn.fetch(
        "SELECT signal_id, assigned_partner_id FROM signals WHERE signal_id = ANY($1::uuid[])",
        keys,
    )
    states = [SignalState(str(r["signal_id"]), r["assigned_partner_id"]) for r in rows]
    return {state.signal_id: state for state in states}


async def signal_state(conn: asyncpg.Connection, signal_id: str) -> SignalState | None:
    """The signal's current assignment, if the signal exists."""
    states = await signal_states(conn, [signal_id])
    return next(iter(states.values()), None)


async def signal_view(conn: asyncpg.Connection, signal_id: str) -> asyncpg.Record | None:
    """A signal's status and assignment (partner, rule and rule set version, deadline), for the
    API."""
    try:
        key = UUID(signal_id)
    except ValueError:
        return None
    return await conn.fetchrow(
        "SELECT signal_id, partner_id, categorie, subcategory, severity, street_key, street, city,"
        " buurt_code, observed_at, received_at, assigned_partner_id, status, rule_id,"
        " ruleset_version, assigned_at, acknowledge_by FROM signals WHERE signal_id = $1",
        key,
    )
