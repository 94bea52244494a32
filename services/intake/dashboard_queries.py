"""What intake's operator dashboard reads: outcomes counted over all of them (per partner, per
reason, per day), and the signals a page at a time, newest first, filtered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from wijkbus.web.paging import page_of

DAYS = 14
REFUSED = "status NOT IN ('accepted', 'duplicate')"


@dataclass(frozen=True)
class Filters:
    """The signal list's filters; None is 'all'."""

    partner: str | None = None
    categorie: str | None = None
    buurt: str | None = None
    status: str | None = None
    street: str | None = None
    """A street as people write it ('Asingastraat') or its key, either case."""


async def per_partner(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Accepted, duplicate and refused answers per partner, over every answer given."""
    return list(
        await conn.fetch(
            "SELECT partner_id,"
            " count(*) FILTER (WHERE status = 'accepted') AS accepted,"
            " count(*) FILTER (WHERE status = 'duplicate') AS duplicate,"
            f" count(*) FILTER (WHERE {REFUSED}) AS refused"
            " FROM outcomes GROUP BY partner_id ORDER BY partner_id"
        )
    )


async def reasons(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Refusals by status and reason, figures and moments in a reason folded into one group."""
    return list(
        await conn.fetch(
            "SELECT status, min(reason) AS reason, count(*) AS n FROM outcomes"
            f" WHERE {REFUSED} GROUP BY status,"
            " regexp_replace(coalesce(reason, ''), '[0-9][0-9:+.TZ-]*', '#', 'g')"
            " ORDER BY n DESC, 2"
        )
    )


async def per_day(conn: asyncpg.Connection, now: datetime, partner: str | None) -> list[Any]:
    """Accepted and refused answers per Amsterdam day over the last DAYS days, oldest first."""
    return list(
        await conn.fetch(
            "WITH days AS (SELECT generate_series(date_trunc('day', $1 AT TIME ZONE"
            " 'Europe/Amsterdam') - make_interval(days => $2 - 1),"
            " date_trunc('day', $1 AT TIME ZONE 'Europe/Amsterdam'), interval '1 day') AS day)"
            " SELECT d.day, count(o.id) FILTER (WHERE o.status = 'accepted') AS accepted,"
            f" count(o.id) FILTER (WHERE o.{REFUSED}) AS refused FROM days d"
            " LEFT JOIN outcomes o ON date_trunc('day', o.at AT TIME ZONE 'Europe/Amsterdam')"
            " = d.day AND ($3::text IS NULL OR o.partner_id = $3)"
            " GROUP BY d.day ORDER BY d.day",
            now,
            DAYS,
            partner,
        )
    )


async def signal_page(
    conn: asyncpg.Connection, filters: Filters, raw_page: str | None
) -> dict[str, Any]:
    """Signals matching `filters`: how many, and the page asked for, newest first."""
    where = (
        "($1::text IS NULL OR partner_id = $1) AND ($2::text IS NULL OR categorie = $2)"
        " AND ($3::text IS NULL OR buurt_code = $3) AND ($4::text IS NULL OR status = $4)"
        " AND ($5::text IS NULL OR lower(street) = lower($5) OR street_key = $5)"
    )
    args = (filters.partner, filters.categorie, filters.buurt, filters.status, filters.street)
    total = await conn.fetchval(f"SELECT count(*) FROM signals WHERE {where}", *args)
    page = page_of(raw_page, total)
    rows = await conn.fetch(
        "SELECT signal_id, partner_id, categorie, street_key, street, city, buurt_code,"
        f" received_at, assigned_partner_id, status FROM signals WHERE {where}"
        " ORDER BY received_at DESC, signal_id LIMIT $6 OFFSET $7",
        *args,
        page.size,
        page.offset,
    )
    return {"signal_total": total, "signal_page": page, "signals": rows}


async def choices(conn: asyncpg.Connection) -> dict[str, list[str]]:
    """The values the filters offer: the buurten and statuses signals have."""
    buurten = await conn.fetch(
        "SELECT DISTINCT buurt_code FROM signals WHERE buurt_code IS NOT NULL ORDER BY 1"
    )
    statuses = await conn.fetch("SELECT DISTINCT status FROM signals ORDER BY 1")
    return {
        "buurt_choices": [r["buurt_code"] for r in buurten],
        "status_choices": [r["status"] for r in statuses],
    }


async def dashboard(
    conn: asyncpg.Connection, filters: Filters, pages: Mapping[str, str], now: datetime
) -> dict[str, Any]:
    """Everything the dashboard shows of intake's own: the counts, the charts' rows, a page."""
    return {
        "counts": await per_partner(conn),
        "reasons": await reasons(conn),
        "days": await per_day(conn, now, filters.partner),
        **await signal_page(conn, filters, pages.get("pagina")),
        **await choices(conn),
    }


FINGERPRINT = (
    "SELECT (SELECT max(id) FROM outcomes), (SELECT max(id) FROM dead_letters), s.*"
    " FROM (SELECT count(*), count(assigned_partner_id),"
    " count(*) FILTER (WHERE status = 'opgepakt'),"
    " count(*) FILTER (WHERE status = 'afgehandeld') FROM signals) s"
)
"""What changes when anything the dashboard shows changes."""
