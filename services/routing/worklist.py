"""The dashboard's assignments: totals by aggregate over all rows, and one filtered page.

Every number the dashboard shows comes from a count in the database, never from a list cut
to a page: a list is only ever one page of what the counts describe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

PAGE_SIZE = 50
StatusFilter = Literal["open", "toegewezen", "opgepakt", "afgehandeld", "alle"]

# "te laat" as lifecycle.sla_state says it, for open assignments; $1 is the moment judged at.
LATE = (
    "(status <> 'afgehandeld' AND acknowledge_by IS NOT NULL"
    " AND coalesce(acknowledged_at, $1) > acknowledge_by)"
)
WHERE = (
    " WHERE ($2::text IS NULL OR partner_id = $2) AND ($3::text IS NULL OR categorie = $3)"
    " AND ($4::text IS NULL OR buurt_code = $4)"
    " AND ($5::text IS NULL OR street_key = $5 OR street_key IN (SELECT street_key"
    " FROM street_counts WHERE strpos(lower(street), lower($5)) > 0))"
    " AND (CASE $6::text WHEN 'open' THEN status <> 'afgehandeld' WHEN 'alle' THEN true"
    " ELSE status = $6 END)"
    f" AND ($7::boolean IS NULL OR $7 = {LATE})"
)


@dataclass(frozen=True)
class Filters:
    """Which assignments the list shows; None leaves a field unfiltered."""

    partner: str | None = None
    categorie: str | None = None
    buurt: str | None = None
    straat: str | None = None  # a street key, or part of a street's name
    status: StatusFilter = "open"
    late: bool | None = None

    def args(self, now: datetime) -> tuple[Any, ...]:
        """The WHERE clause's parameters, $1 to $7."""
        return (
            now,
            self.partner,
            self.categorie,
            self.buurt,
            self.straat,
            self.status,
            self.late,
        )


async def totals(conn: asyncpg.Connection, now: datetime) -> dict[str, Any]:
    """Open and late assignments per partner and in all, and every assignment per status."""
    partners = await conn.fetch(
        f"SELECT partner_id, count(*) AS open, count(*) FILTER (WHERE {LATE}) AS late"
        " FROM assignments WHERE status <> 'afgehandeld' GROUP BY partner_id ORDER BY partner_id",
        now,
    )
    by_status = await conn.fetch(
        "SELECT status, count(*) AS n FROM assignments GROUP BY status ORDER BY status"
    )
    return {
        "per_partner": [dict(r) for r in partners],
        "open_total": sum(int(r["open"]) for r in partners),
        "late": sum(int(r["late"]) for r in partners),
        "by_status": [dict(r) for r in by_status],
    }


async def page(
    conn: asyncpg.Connection, filters: Filters, now: datetime, number: int, size: int = PAGE_SIZE
) -> dict[str, Any]:
    """Page `number` (from 1, kept within the pages there are) of the filtered list, newest
    first, with how many match in all and each row's street as stored for display."""
    args = filters.args(now)
    found = int(await conn.fetchval("SELECT count(*) FROM assignments" + WHERE, *args))
    pages = max(1, -(-found // size))
    number = min(max(number, 1), pages)
    rows = await conn.fetch(
        "SELECT a.signal_id, a.partner_id, a.categorie, a.street_key, a.buurt_code, a.rule_id,"
        " a.ruleset_version, a.status, a.assigned_at, a.acknowledge_by, a.acknowledged_at,"
        f" {LATE} AS late, n.street, n.city FROM (SELECT * FROM assignments{WHERE}"
        " ORDER BY assigned_at DESC, signal_id LIMIT $8 OFFSET $9) a"
        " LEFT JOIN LATERAL (SELECT min(street) AS street, min(city) AS city"
        " FROM street_counts c WHERE c.street_key = a.street_key) n ON true"
        " ORDER BY a.assigned_at DESC, a.signal_id",
        *args,
        size,
        (number - 1) * size,
    )
    return {"rows": [dict(r) for r in rows], "found": found, "page": number, "pages": pages}


async def choices(conn: asyncpg.Connection) -> dict[str, list[str]]:
    """The buurten that have assignments, for the list's filter."""
    rows = await conn.fetch(
        "SELECT DISTINCT buurt_code FROM assignments WHERE buurt_code IS NOT NULL ORDER BY 1"
    )
    return {"buurten": [r["buurt_code"] for r in rows]}
