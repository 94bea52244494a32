"""Notify's part of a signal's trail (`wijkbus.trail`): every delivery it queued of an event
about the signal, with its attempts."""

from __future__ import annotations

import asyncpg

from wijkbus.trail import Step, schema_exists


async def steps(conn: asyncpg.Connection, signal_id: str, schema: str = "notify") -> list[Step]:
    """Every delivery notify queued of an event about the signal, with its attempts."""
    if not await schema_exists(conn, schema):
        return []
    rows = await conn.fetch(
        f"SELECT d.id, d.event_id, d.event_type, d.status, d.attempts, d.created_at,"
        f" d.finished_at, s.channel, coalesce(s.owner_partner_id, 'operator') AS owner,"
        f" s.id AS subscription_id"
        f" FROM {schema}.deliveries d JOIN {schema}.subscriptions s ON s.id = d.subscription_id"
        # Deliveries queued before migration 0007 have no subject of their own: their body's.
        " WHERE d.subject = $1 OR (d.subject = ''"
        " AND convert_from(d.body, 'UTF8')::jsonb ->> 'subject' = $1) ORDER BY d.id",
        signal_id,
    )
    steps = []
    for r in rows:
        attempts = await conn.fetch(
            f"SELECT attempt, status_code, error, at FROM {schema}.delivery_attempts"
            " WHERE delivery_id = $1 ORDER BY attempt",
            r["id"],
        )
        tried = ", ".join(
            f"{a['attempt']}: {a['status_code'] or a['error'] or '-'}" for a in attempts
        )
        steps.append(
            Step(
                r["finished_at"] or r["created_at"],
                "notify",
                f"bezorging {r['status']}",
                f"{r['event_type'].rsplit('.', 1)[-1]} [{r['event_id']}] via {r['channel']}"
                f" aan {r['owner']} (abonnement {r['subscription_id']}); pogingen: {tried or '-'}",
            )
        )
    return steps
