"""asyncpg queries for routing's schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from contracts.events import ResponderAssigned, SignalAccepted, SignalAcknowledged, SignalResolved
from services.routing.domain import RuleSet
from services.routing.lifecycle import Assignment


class RuleSetConflict(RuntimeError):
    """A rule set reuses a stored version with different rules: audits could no longer trust it."""


async def save_ruleset(conn: asyncpg.Connection, ruleset: RuleSet, now: datetime) -> bool:
    """Keep the rule set's text under its version; True when the version is new."""
    inserted = await conn.fetchval(
        "INSERT INTO rulesets (version, municipality, body, loaded_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (version) DO NOTHING RETURNING true",
        ruleset.version,
        ruleset.municipality,
        ruleset.text,
        now,
    )
    if inserted:
        return True
    stored = await conn.fetchval("SELECT body FROM rulesets WHERE version = $1", ruleset.version)
    if stored != ruleset.text:
        raise RuleSetConflict(
            f"routing rule set version {ruleset.version!r} is already stored with different "
            "rules; give the changed rules a new version"
        )
    return False


async def insert_assignment(conn: asyncpg.Connection, a: ResponderAssigned) -> bool:
    """Store a new assignment; False when the signal was assigned before (a replay)."""
    status = await conn.execute(
        "INSERT INTO assignments (signal_id, partner_id, categorie, street_key, buurt_code,"
        " ruleset_version, rule_id, assigned_at, acknowledge_by)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (signal_id) DO NOTHING",
        a.signal_id,
        a.partner_id,
        a.categorie.value,
        a.street_key,
        a.buurt_code,
        a.ruleset_version,
        a.rule_id,
        a.assigned_at,
        a.acknowledge_by,
    )
    return bool(status == "INSERT 0 1")


async def count_incident(conn: asyncpg.Connection, s: SignalAccepted) -> None:
    """Add one incident to the street's count for its categorie, and keep the incident itself."""
    await conn.execute(
        "INSERT INTO street_incidents (signal_id, street_key, categorie, observed_at)"
        " VALUES ($1, $2, $3, $4)",
        s.signal_id,
        s.street_key,
        s.categorie.value,
        s.observed_at,
    )
    await conn.execute(
        "INSERT INTO street_counts (street_key, categorie, count, street, city, buurt_code)"
        " VALUES ($1, $2, 1, $3, $4, $5) ON CONFLICT (street_key, categorie) DO UPDATE"
        " SET count = street_counts.count + 1, street = EXCLUDED.street, city = EXCLUDED.city,"
        " buurt_code = coalesce(EXCLUDED.buurt_code, street_counts.buurt_code)",
        s.street_key,
        s.categorie.value,
        s.street,
        s.city,
        s.buurt_code,
    )


async def assignment_for_update(conn: asyncpg.Connection, signal_id: str) -> Assignment | None:
    """The signal's assignment, locked until the transaction ends."""
    row = await conn.fetchrow(
        "SELECT signal_id, partner_id, status FROM assignments WHERE signal_id = $1 FOR UPDATE",
        signal_id,
    )
    return Assignment(row["signal_id"], row["partner_id"], row["status"]) if row else None


async def acknowledge(conn: asyncpg.Connection, e: SignalAcknowledged) -> None:
    """Mark the assignment opgepakt."""
    await conn.execute(
        "UPDATE assignments SET status = 'opgepakt', acknowledged_at = $2 WHERE signal_id = $1",
        e.signal_id,
        e.acknowledged_at,
    )


async def resolve(conn: asyncpg.Connection, e: SignalResolved) -> None:
    """Mark the assignment afgehandeld with its outcome."""
    await conn.execute(
        "UPDATE assignments SET status = 'afgehandeld', resolved_at = $2, outcome = $3"
        " WHERE signal_id = $1",
        e.signal_id,
        e.resolved_at,
        e.outcome,
    )


async def assignments(
    conn: asyncpg.Connection, *, partner: str | None, status: str | None, limit: int
) -> list[asyncpg.Record]:
    """Assignments, newest first, optionally of one partner and one status."""
    return await conn.fetch(
        "SELECT signal_id, partner_id, categorie, street_key, buurt_code, ruleset_version,"
        " rule_id, status, assigned_at, acknowledge_by, acknowledged_at, resolved_at, outcome"
        " FROM assignments WHERE ($1::text IS NULL OR partner_id = $1)"
        " AND ($2::text IS NULL OR status = $2) ORDER BY assigned_at DESC, signal_id LIMIT $3",
        partner,
        status,
        limit,
    )


async def street(conn: asyncpg.Connection, street_key: str) -> dict[str, Any] | None:
    """A street's name and its incident counts per categorie, or None when never seen."""
    rows = await conn.fetch(
        "SELECT categorie, count, street, city, buurt_code FROM street_counts"
        " WHERE street_key = $1 ORDER BY categorie",
        street_key,
    )
    if not rows:
        return None
    counts = {r["categorie"]: int(r["count"]) for r in rows}
    first = rows[0]
    return {
        "street_key": street_key,
        "street": first["street"],
        "city": first["city"],
        "buurt_code": first["buurt_code"],
        "counts": counts,
        "total": sum(counts.values()),
    }


async def dashboard(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    """What the operator dashboard shows: open assignments, busiest streets, dead letters."""
    return {
        "open": await conn.fetch(
            "SELECT signal_id, partner_id, categorie, street_key, rule_id, status, assigned_at,"
            " acknowledge_by, acknowledged_at FROM assignments WHERE status <> 'afgehandeld'"
            " ORDER BY partner_id, acknowledge_by NULLS LAST LIMIT 200"
        ),
        "by_status": await conn.fetch(
            "SELECT status, count(*) AS n FROM assignments GROUP BY status ORDER BY status"
        ),
        "streets": await conn.fetch(
            "SELECT street_key, min(street) AS street, min(city) AS city,"
            " min(buurt_code) AS buurt_code, sum(count) AS total,"
            " string_agg(categorie || ' ' || count, ', ' ORDER BY count DESC, categorie)"
            " AS per_categorie FROM street_counts GROUP BY street_key"
            " ORDER BY total DESC, street_key LIMIT 25"
        ),
        "dead_letters": await conn.fetch(
            "SELECT id, consumer, topic, reason, attempts, created_at FROM dead_letters"
            " ORDER BY id DESC LIMIT 20"
        ),
    }
