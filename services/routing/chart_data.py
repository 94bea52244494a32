"""The numbers behind the dashboard's charts, each an aggregate over all rows of routing's
schema: incidents per week (per categorie, per buurt, on one street) and SLA compliance per week.

Weeks begin on Monday in the municipality's zone; the last one is the week of `now`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

WEEKS = 12
Series = dict[str, list[int]]


def week_starts(now: datetime, zone: ZoneInfo, weeks: int = WEEKS) -> list[date]:
    """The Mondays of the last `weeks` weeks, oldest first, the week of `now` last."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def _since(starts: list[date], zone: ZoneInfo) -> datetime:
    return datetime(starts[0].year, starts[0].month, starts[0].day, tzinfo=zone)


async def incidents_per_week(
    conn: asyncpg.Connection,
    now: datetime,
    zone: ZoneInfo,
    by: str,
    street_key: str | None = None,
) -> tuple[list[date], Series]:
    """Incidents observed per week, per categorie or per buurt (`by`), optionally on one street."""
    group = {"categorie": "w.categorie", "buurt": "coalesce(n.buurt_code, '')"}[by]
    starts = week_starts(now, zone)
    # Counted per street first, so the buurt is looked up once per street and week, not per row.
    rows = await conn.fetch(
        "WITH w AS (SELECT street_key, categorie,"
        " date_trunc('week', observed_at AT TIME ZONE $1)::date AS week, count(*) AS n"
        " FROM street_incidents WHERE observed_at >= $2 AND observed_at <= $3"
        " AND ($4::text IS NULL OR street_key = $4) GROUP BY 1, 2, 3)"
        f" SELECT {group} AS name, w.week, sum(w.n)::bigint AS n FROM w LEFT JOIN LATERAL"
        " (SELECT min(buurt_code) AS buurt_code FROM street_counts c"
        " WHERE c.street_key = w.street_key) n ON true GROUP BY 1, 2 ORDER BY 1",
        zone.key,
        _since(starts, zone),
        now,
        street_key,
    )
    series: Series = {}
    place = {start: n for n, start in enumerate(starts)}
    for r in rows:
        if r["week"] in place:
            series.setdefault(r["name"], [0] * len(starts))[place[r["week"]]] += int(r["n"])
    return starts, series


async def sla_per_week(
    conn: asyncpg.Connection, now: datetime, zone: ZoneInfo
) -> tuple[list[date], list[float | None], list[int]]:
    """Per week of assignment: the share taken up by its deadline among those that can be judged
    (taken up, or past their deadline), in percent (None: none to judge), and how many."""
    starts = week_starts(now, zone)
    rows = await conn.fetch(
        "SELECT date_trunc('week', assigned_at AT TIME ZONE $1)::date AS week,"
        " count(*) FILTER (WHERE acknowledged_at <= acknowledge_by) AS on_time,"
        " count(*) AS judged FROM assignments WHERE acknowledge_by IS NOT NULL"
        " AND assigned_at >= $2 AND assigned_at <= $3"
        " AND (acknowledged_at IS NOT NULL OR acknowledge_by < $3) GROUP BY 1",
        zone.key,
        _since(starts, zone),
        now,
    )
    found = {r["week"]: (int(r["on_time"]), int(r["judged"])) for r in rows}
    shares = [
        100 * found[s][0] / found[s][1] if s in found and found[s][1] else None for s in starts
    ]
    return starts, shares, [found.get(s, (0, 0))[1] for s in starts]
