"""What the wijkhub's pages, API and reports read: advised streets, hubs, and the incidents an
evaluation is computed from."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from services.routing.wijkhub import store
from services.routing.wijkhub.evaluation import HubPeriod, Incident

MAX_BASELINE = timedelta(weeks=52)
OPEN_ADVICE = """
WITH last AS (
    SELECT DISTINCT ON (street_key) street_key, threshold_id, window_days, counts, advice,
           crossed_at
    FROM threshold_crossings WHERE wijkhub ORDER BY street_key, crossed_at DESC, id DESC
)
SELECT l.*, n.street, n.city, n.buurt_code FROM last l
JOIN LATERAL (SELECT street, city, buurt_code FROM street_counts c
              WHERE c.street_key = l.street_key ORDER BY buurt_code NULLS LAST LIMIT 1) n ON true
WHERE NOT EXISTS (SELECT 1 FROM wijkhub_decisions d WHERE d.kind = 'declined'
                  AND d.street_key = l.street_key AND d.decided_at >= l.crossed_at)
  AND NOT EXISTS (SELECT 1 FROM wijkhubs h
                  WHERE (l.street_key = ANY (h.street_keys) OR h.buurt_code = n.buurt_code)
                    AND (h.closed_at IS NULL OR h.opened_at >= l.crossed_at))
ORDER BY l.crossed_at DESC, l.street_key
"""


async def open_advice(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Streets whose latest crossing awaits a decision: no hub since, and not declined since."""
    rows = await conn.fetch(OPEN_ADVICE)
    return [{**dict(r), "counts": json.loads(r["counts"])} for r in rows]


async def advice_with_incidents(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """The open advice, each with the incidents of the crossed window behind it."""
    found = await open_advice(conn)
    for a in found:
        since = a["crossed_at"] - timedelta(days=a["window_days"])
        a["incidents"] = await incidents_behind(conn, a["street_key"], since, a["crossed_at"])
    return found


async def incidents_behind(
    conn: asyncpg.Connection, street_key: str, since: datetime, until: datetime
) -> dict[str, Any]:
    """The street's incidents observed in (since, until]: per categorie, partner and week."""
    rows = await conn.fetch(
        "SELECT categorie, coalesce(partner_id, 'onbekend') AS partner,"
        " date_trunc('week', observed_at AT TIME ZONE 'Europe/Amsterdam') AS week,"
        " count(*) AS n FROM street_incidents WHERE street_key = $1 AND observed_at > $2"
        " AND observed_at <= $3 GROUP BY 1, 2, 3",
        street_key,
        since,
        until,
    )
    found: dict[str, dict[Any, int]] = {"categorie": {}, "partner": {}, "week": {}}
    for r in rows:
        for part, value in (("categorie", r["categorie"]), ("partner", r["partner"])):
            found[part][value] = found[part].get(value, 0) + r["n"]
        found["week"][r["week"].date()] = found["week"].get(r["week"].date(), 0) + r["n"]
    return {
        "per_categorie": dict(sorted(found["categorie"].items())),
        "per_partner": dict(sorted(found["partner"].items())),
        "per_week": sorted(found["week"].items()),
        "total": sum(found["categorie"].values()),
    }


async def street_names(
    conn: asyncpg.Connection, street_keys: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Each street as people write it, with its city and buurt."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (street_key) street_key, street, city, buurt_code FROM street_counts"
        " WHERE street_key = ANY($1::text[]) ORDER BY street_key, buurt_code NULLS LAST",
        list(street_keys),
    )
    return {r["street_key"]: dict(r) for r in rows}


async def hubs(conn: asyncpg.Connection, partner: str | None = None) -> list[asyncpg.Record]:
    """Hubs, newest first; with `partner`, only those it takes part in."""
    return await conn.fetch(
        "SELECT hub_id FROM wijkhubs WHERE $1::text IS NULL OR $1 = ANY (partners)"
        " ORDER BY opened_at DESC, hub_id",
        partner,
    )


async def hub_view(conn: asyncpg.Connection, hub_id: str, now: datetime) -> dict[str, Any] | None:
    """A hub as pages and partners see it: no contact person beyond the role."""
    row = await store.hub(conn, hub_id)
    if row is None:
        return None
    names = await street_names(conn, row["street_keys"])
    view = {k: v for k, v in dict(row).items() if k != "evaluation"}
    view["street_keys"] = list(row["street_keys"])
    view["partners"] = list(row["partners"])
    view["streets"] = [
        f"{names[k]['street']}, {names[k]['city']}" if k in names else k for k in row["street_keys"]
    ]
    view["status"] = store.hub_from(row).status(now)
    view["marked_signals"] = await conn.fetchval(
        "SELECT count(*) FROM assignments WHERE wijkhub_id = $1", hub_id
    )
    return view


async def decisions(conn: asyncpg.Connection, hub_id: str) -> list[asyncpg.Record]:
    """The hub's decisions in the order they were taken: opened, extended, closed."""
    return await conn.fetch(
        "SELECT kind, reason, decided_by, decided_at, ends_at FROM wijkhub_decisions"
        " WHERE hub_id = $1 ORDER BY decided_at, seq",
        hub_id,
    )


async def report_inputs(
    conn: asyncpg.Connection, hub_id: str, as_of: datetime
) -> tuple[dict[str, Any], HubPeriod, list[Incident], list[Incident], int] | None:
    """What an evaluation of the hub as of `as_of` is computed from: the hub, its period, the
    incidents of its streets and of the buurt's other streets, and how many other streets."""
    view = await hub_view(conn, hub_id, as_of)
    if view is None:
        return None
    hub = store.hub_from(await store.hub(conn, hub_id))
    ground = await _streets_of(conn, view["street_keys"], view["buurt_code"])
    buurten = {n["buurt_code"] for n in (await street_names(conn, sorted(ground))).values()}
    buurten.discard(None)
    buurten |= {view["buurt_code"]} if view["buurt_code"] else set()
    others = await conn.fetch(
        "SELECT DISTINCT street_key FROM street_counts WHERE buurt_code = ANY($1::text[])"
        " AND NOT street_key = ANY($2::text[])",
        sorted(buurten),
        sorted(ground),
    )
    other_keys = sorted(r["street_key"] for r in others)
    since = hub.starts_at - MAX_BASELINE
    period = HubPeriod(hub_id, len(ground), hub.starts_at, hub.end)
    return (
        view,
        period,
        await _incidents(conn, sorted(ground), since, as_of),
        await _incidents(conn, other_keys, since, as_of),
        len(other_keys),
    )


async def _streets_of(
    conn: asyncpg.Connection, street_keys: list[str], buurt_code: str | None
) -> set[str]:
    if buurt_code is None:
        return set(street_keys)
    rows = await conn.fetch(
        "SELECT DISTINCT street_key FROM street_counts WHERE buurt_code = $1", buurt_code
    )
    return set(street_keys) | {r["street_key"] for r in rows}


async def _incidents(
    conn: asyncpg.Connection, street_keys: list[str], since: datetime, upto: datetime
) -> list[Incident]:
    rows = await conn.fetch(
        "SELECT i.street_key, i.categorie, i.observed_at,"
        " coalesce(i.received_at, i.observed_at) AS received_at, a.acknowledged_at,"
        " a.resolved_at FROM street_incidents i LEFT JOIN assignments a USING (signal_id)"
        " WHERE i.street_key = ANY($1::text[]) AND i.observed_at >= $2 AND i.observed_at <= $3"
        " ORDER BY i.observed_at, i.signal_id",
        street_keys,
        since,
        upto,
    )
    return [Incident(**dict(r)) for r in rows]
