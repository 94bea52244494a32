"""asyncpg queries for intake's schema."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from contracts.events import SignalAccepted
from services.intake.domain import PreviousEvent, SignalState


async def previous_event(
    conn: asyncpg.Connection, source: str, event_id: str
) -> PreviousEvent | None:
    """What was stored for `(source, id)`, locking it against a concurrent submission."""
    row = await conn.fetchrow(
        "SELECT body_hash, signal_id FROM received_events WHERE source = $1 AND event_id = $2",
        source,
        event_id,
    )
    if row is None:
        return None
    return PreviousEvent(row["body_hash"], str(row["signal_id"]) if row["signal_id"] else None)


async def claim_event(
    conn: asyncpg.Connection,
    *,
    source: str,
    event_id: str,
    body_hash: str,
    partner_id: str,
    type_: str,
    signal_id: str | None,
    received_at: datetime,
) -> bool:
    """Record `(source, id)` as received; False when a concurrent submission got there first."""
    status = await conn.execute(
        "INSERT INTO received_events"
        " (source, event_id, body_hash, partner_id, type, signal_id, received_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        source,
        event_id,
        body_hash,
        partner_id,
        type_,
        UUID(signal_id) if signal_id else None,
        received_at,
    )
    return bool(status == "INSERT 0 1")


async def insert_signal(conn: asyncpg.Connection, s: SignalAccepted) -> None:
    """Store an accepted signal (street level only)."""
    await conn.execute(
        "INSERT INTO signals (signal_id, partner_id, source, event_id, categorie, subcategory,"
        " severity, street_key, street, city, buurt_code, observed_at, received_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        UUID(s.signal_id),
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


async def signal_state(conn: asyncpg.Connection, signal_id: str) -> SignalState | None:
    """The signal's current assignment, if the signal exists."""
    try:
        key = UUID(signal_id)
    except ValueError:
        return None
    row = await conn.fetchrow(
        "SELECT signal_id, assigned_partner_id FROM signals WHERE signal_id = $1", key
    )
    return SignalState(str(row["signal_id"]), row["assigned_partner_id"]) if row else None


async def set_assignment(conn: asyncpg.Connection, signal_id: str, partner_id: str) -> None:
    """Remember who the signal is assigned to now (learned from routing)."""
    await conn.execute(
        "UPDATE signals SET assigned_partner_id = $2, status = 'toegewezen' WHERE signal_id = $1",
        UUID(signal_id),
        partner_id,
    )


async def set_status(conn: asyncpg.Connection, signal_id: str, status: str, at: datetime) -> None:
    """Record the signal's lifecycle status (opgepakt, afgehandeld) and when it was resolved."""
    await conn.execute(
        "UPDATE signals SET status = $2, resolved_at = CASE WHEN $2 = 'afgehandeld'"
        " THEN coalesce(resolved_at, $3) ELSE resolved_at END WHERE signal_id = $1",
        UUID(signal_id),
        status,
        at,
    )


async def record_outcome(
    conn: asyncpg.Connection,
    partner_id: str,
    channel: str,
    status: str,
    reason: str | None,
    at: datetime,
) -> None:
    """Count one answer given to a partner."""
    await conn.execute(
        "INSERT INTO outcomes (partner_id, channel, status, reason, at) VALUES ($1,$2,$3,$4,$5)",
        partner_id,
        channel,
        status,
        reason,
        at,
    )


async def signal_view(conn: asyncpg.Connection, signal_id: str) -> asyncpg.Record | None:
    """A signal's status and assignment, for the API."""
    try:
        key = UUID(signal_id)
    except ValueError:
        return None
    return await conn.fetchrow(
        "SELECT signal_id, partner_id, categorie, subcategory, severity, street_key, street, city,"
        " buurt_code, observed_at, received_at, assigned_partner_id, status"
        " FROM signals WHERE signal_id = $1",
        key,
    )


async def dashboard(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    """What the operator dashboard shows: counts per partner, top reasons, latest signals."""
    return {
        "counts": await conn.fetch(
            "SELECT partner_id,"
            " count(*) FILTER (WHERE status = 'accepted') AS accepted,"
            " count(*) FILTER (WHERE status = 'duplicate') AS duplicate,"
            " count(*) FILTER (WHERE status NOT IN ('accepted', 'duplicate')) AS rejected"
            " FROM outcomes GROUP BY partner_id ORDER BY partner_id"
        ),
        "reasons": await conn.fetch(
            "SELECT reason, count(*) AS n FROM outcomes WHERE reason IS NOT NULL"
            " GROUP BY reason ORDER BY n DESC, reason LIMIT 10"
        ),
        "latest": await conn.fetch(
            "SELECT signal_id, partner_id, categorie, street, city, buurt_code, received_at,"
            " assigned_partner_id, status FROM signals ORDER BY received_at DESC LIMIT 20"
        ),
        "dead_letters": await conn.fetch(
            "SELECT id, consumer, topic, reason, attempts, created_at FROM dead_letters"
            " ORDER BY id DESC LIMIT 20"
        ),
    }


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
