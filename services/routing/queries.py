"""Routing's read queries: what the dashboard and the API show."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

_ASSIGNMENT = (
    "signal_id, partner_id, categorie, street_key, buurt_code, ruleset_version, rule_id, status,"
    " assigned_at, acknowledge_by, acknowledged_at, resolved_at, outcome"
)


async def ruleset_history(conn: asyncpg.Connection, limit: int = 20) -> list[asyncpg.Record]:
    """Rule sets loaded, newest first."""
    return await conn.fetch(
        "SELECT version, municipality, loaded_at, loaded_by, diff FROM rulesets"
        " ORDER BY seq DESC LIMIT $1",
        limit,
    )


async def window_counts(
    conn: asyncpg.Connection, street_key: str, days: int, now: datetime
) -> dict[str, int]:
    """The street's incidents per categorie observed in the `days` days up to `now`."""
    rows = await conn.fetch(
        "SELECT categorie, count(*) AS n FROM street_incidents WHERE street_key = $1"
        " AND observed_at > $2 AND observed_at <= $3 GROUP BY categorie",
        street_key,
        now - timedelta(days=days),
        now,
    )
    return {r["categorie"]: int(r["n"]) for r in rows}


async def assignments(
    conn: asyncpg.Connection,
    *,
    partner: str | None,
    status: str | None,
    late: bool | None = None,
    now: datetime,
    limit: int,
    signal_ids: Sequence[str] | None = None,
    street_key: str | None = None,
    buurt_code: str | None = None,
) -> list[asyncpg.Record]:
    """Assignments, newest first, optionally of one partner, one status, late or not, these
    signals, one street or one buurt.

    Late: still open (not afgehandeld) and not acknowledged by its deadline, which passed
    before `now` — the assignments whose SLA state is "te laat" (lifecycle.sla_state).
    """
    return await conn.fetch(
        f"SELECT {_ASSIGNMENT} FROM assignments WHERE ($1::text IS NULL OR partner_id = $1)"
        " AND ($2::text IS NULL OR status = $2)"
        " AND ($3::boolean IS NULL OR $3 = (status <> 'afgehandeld'"
        " AND acknowledge_by IS NOT NULL AND coalesce(acknowledged_at, $4) > acknowledge_by))"
        " AND ($6::text[] IS NULL OR signal_id = ANY($6))"
        " AND ($7::text IS NULL OR street_key = $7) AND ($8::text IS NULL OR buurt_code = $8)"
        " ORDER BY assigned_at DESC, signal_id LIMIT $5",
        partner,
        status,
        late,
        now,
        limit,
        list(signal_ids) if signal_ids else None,
        street_key,
        buurt_code,
    )


async def assignment(conn: asyncpg.Connection, signal_id: str) -> asyncpg.Record | None:
    """One signal's assignment, if routing assigned it."""
    return await conn.fetchrow(
        f"SELECT {_ASSIGNMENT} FROM assignments WHERE signal_id = $1", signal_id
    )


async def street(
    conn: asyncpg.Connection, street_key: str, now: datetime, windows: Iterable[int]
) -> dict[str, Any] | None:
    """A street's all-time counts per categorie and those observed in each rolling window."""
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
        "windows": {
            str(days): await window_counts(conn, street_key, days, now) for days in windows
        },
    }


async def buurt(
    conn: asyncpg.Connection, buurt_code: str, now: datetime, windows: Iterable[int]
) -> dict[str, Any] | None:
    """A buurt's all-time counts per categorie and those observed in each rolling window."""
    rows = await conn.fetch(
        "SELECT categorie, sum(count)::bigint AS n FROM street_counts WHERE buurt_code = $1"
        " GROUP BY categorie ORDER BY categorie",
        buurt_code,
    )
    if not rows:
        return None
    counts = {r["categorie"]: int(r["n"]) for r in rows}
    found: dict[str, dict[str, int]] = {}
    for days in windows:
        recent = await conn.fetch(
            "SELECT i.categorie, count(*) AS n FROM street_incidents i"
            " JOIN (SELECT DISTINCT street_key FROM street_counts WHERE buurt_code = $1) s"
            " USING (street_key) WHERE i.observed_at > $2 AND i.observed_at <= $3"
            " GROUP BY i.categorie",
            buurt_code,
            now - timedelta(days=days),
            now,
        )
        found[str(days)] = {r["categorie"]: int(r["n"]) for r in recent}
    return {
        "buurt_code": buurt_code,
        "counts": counts,
        "total": sum(counts.values()),
        "windows": found,
    }


async def recent_streets(
    conn: asyncpg.Connection, now: datetime, limit: int = 25
) -> list[dict[str, Any]]:
    """Streets ranked by incidents observed in the last 30 (then 90) days, with daily counts."""
    since = now - timedelta(days=90)
    ranked = await conn.fetch(
        "WITH ranked AS (SELECT street_key, count(*) FILTER (WHERE observed_at > $2) AS last30,"
        " count(*) AS last90 FROM street_incidents WHERE observed_at > $1 AND observed_at <= $3"
        " GROUP BY street_key ORDER BY last30 DESC, last90 DESC, street_key LIMIT $4)"
        " SELECT r.street_key, r.last30, r.last90, n.street, n.city, n.buurt_code FROM ranked r"
        " JOIN LATERAL (SELECT min(street) AS street, min(city) AS city,"
        " min(buurt_code) AS buurt_code FROM street_counts c WHERE c.street_key = r.street_key)"
        " n ON true ORDER BY r.last30 DESC, r.last90 DESC, r.street_key",
        since,
        now - timedelta(days=30),
        now,
        limit,
    )
    keys = [r["street_key"] for r in ranked]
    days = await conn.fetch(
        "SELECT street_key, floor(extract(epoch FROM ($2 - observed_at)) / 86400)::int AS age,"
        " count(*) AS n FROM street_incidents WHERE street_key = ANY($1::text[])"
        " AND observed_at > $3 AND observed_at <= $2 GROUP BY street_key, age",
        keys,
        now,
        since,
    )
    per_day = {key: [0] * 90 for key in keys}
    for row in days:
        per_day[row["street_key"]][89 - min(row["age"], 89)] += int(row["n"])
    return [{**dict(r), "per_day": per_day[r["street_key"]]} for r in ranked]


async def alerts(conn: asyncpg.Connection, limit: int = 20) -> list[asyncpg.Record]:
    """The latest threshold crossings, with whether the street's alert is still active."""
    return await conn.fetch(
        "SELECT x.street_key, x.threshold_id, x.window_days, x.counts::text AS counts, x.advice,"
        " x.crossed_at, a.active, n.street, n.city"
        " FROM threshold_crossings x LEFT JOIN street_alerts a USING (street_key, threshold_id)"
        " LEFT JOIN LATERAL (SELECT min(street) AS street, min(city) AS city FROM street_counts c"
        " WHERE c.street_key = x.street_key) n ON true ORDER BY x.id DESC LIMIT $1",
        limit,
    )


async def dashboard(conn: asyncpg.Connection, now: datetime) -> dict[str, Any]:
    """Streets, alerts, rules and dead letters: the dashboard besides its assignments (worklist)."""
    return {
        "streets": await recent_streets(conn, now),
        "alerts": await alerts(conn),
        "history": await ruleset_history(conn),
        "dead_letters": await conn.fetch(
            "SELECT id, consumer, topic, reason, attempts, created_at FROM dead_letters"
            " ORDER BY id DESC LIMIT 20"
        ),
    }
