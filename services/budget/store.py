"""asyncpg queries for budget's dashboard (the rounds' own queries are in round_store): every
count by aggregate over all rows; the initiatives and rounds a page at a time, newest first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from wijkbus.web.paging import page_of

ROUNDS_PER_PAGE = 10


@dataclass(frozen=True)
class Filters:
    """The initiative list's filters; None is 'all'."""

    buurt: str | None = None
    status: str | None = None
    year: int | None = None


async def buurten(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Per buurt (its name where a register gave one): households, codes and participants."""
    return list(
        await conn.fetch(
            "SELECT h.municipality, h.buurt_code, n.name AS buurt_name, count(*) AS households,"
            " count(c.household_id) AS codes,"
            " (SELECT count(DISTINCT s.supporter) FROM supports s JOIN years y"
            "   ON y.municipality = s.municipality AND y.year = s.year AND y.status = 'open'"
            "   WHERE s.municipality = h.municipality AND s.buurt_code = h.buurt_code)"
            "   AS participating"
            " FROM households h"
            " LEFT JOIN years y ON y.municipality = h.municipality AND y.status = 'open'"
            " LEFT JOIN voting_codes c ON c.household_id = h.household_id AND c.year = y.year"
            " LEFT JOIN buurten n ON n.municipality = h.municipality"
            "   AND n.buurt_code = h.buurt_code"
            " WHERE h.removed_at IS NULL"
            " GROUP BY h.municipality, h.buurt_code, n.name ORDER BY h.municipality, h.buurt_code"
        )
    )


async def initiative_counts(conn: asyncpg.Connection) -> dict[str, int]:
    """How many initiatives there are in each status, over all of them."""
    rows = await conn.fetch("SELECT status, count(*) AS n FROM initiatives GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


_INITIATIVE = (
    "SELECT i.initiative_id::text, i.title, i.buurt_code, i.year, i.funding_rule,"
    " i.cost_cents, i.status, i.reason, i.deadline, i.created_at,"
    " count(s.supporter) AS supporters, coalesce(sum(s.amount_cents), 0) AS pledged"
    " FROM initiatives i LEFT JOIN supports s USING (initiative_id)"
)


async def awaiting(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every initiative that waits on the operator (proposed) or on support (open)."""
    return list(
        await conn.fetch(
            f"{_INITIATIVE} WHERE i.status IN ('voorgesteld', 'open') GROUP BY i.initiative_id"
            " ORDER BY i.status = 'voorgesteld' DESC, i.created_at DESC, i.initiative_id"
        )
    )


async def initiative_page(
    conn: asyncpg.Connection, filters: Filters, raw_page: str | None
) -> dict[str, Any]:
    """Initiatives matching `filters`: how many, and the page asked for, newest first."""
    where = (
        "($1::text IS NULL OR i.buurt_code = $1) AND ($2::text IS NULL OR i.status = $2)"
        " AND ($3::int IS NULL OR i.year = $3)"
    )
    args = (filters.buurt, filters.status, filters.year)
    total = await conn.fetchval(f"SELECT count(*) FROM initiatives i WHERE {where}", *args)
    page = page_of(raw_page, total)
    rows = await conn.fetch(
        f"{_INITIATIVE} WHERE {where} GROUP BY i.initiative_id"
        " ORDER BY i.created_at DESC, i.initiative_id LIMIT $4 OFFSET $5",
        *args,
        page.size,
        page.offset,
    )
    return {"initiative_total": total, "initiative_page": page, "initiatives": rows}


async def years(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every budget year, newest first."""
    return list(
        await conn.fetch(
            "SELECT municipality, year, allowance_cents, funding_rule, status, households,"
            " spent_cents, lapsed_cents FROM years ORDER BY year DESC, municipality"
        )
    )


async def round_page(conn: asyncpg.Connection, raw_page: str | None) -> dict[str, Any]:
    """The voting rounds: how many, and a page of them with their decision, newest first."""
    total = await conn.fetchval("SELECT count(*) FROM rounds")
    page = page_of(raw_page, total, ROUNDS_PER_PAGE)
    rows = await conn.fetch(
        "SELECT r.round_id, r.title, r.buurt_code, r.budget, r.status, d.rule, d.spent,"
        " d.partial_project_id, d.partial_amount, d.tie,"
        " (SELECT count(*) FROM round_ballots b WHERE b.round_id = r.round_id) AS ballots"
        " FROM rounds r LEFT JOIN round_decisions d USING (round_id)"
        " ORDER BY r.created_at DESC, r.round_id LIMIT $1 OFFSET $2",
        page.size,
        page.offset,
    )
    return {"round_total": total, "round_page": page, "rounds": rows}


async def dashboard(
    conn: asyncpg.Connection, filters: Filters, pages: Mapping[str, str]
) -> dict[str, Any]:
    """Everything the dashboard shows but the rounds' results and the rounds to form."""
    return {
        "buurten": await buurten(conn),
        "counts": await initiative_counts(conn),
        "awaiting": await awaiting(conn),
        **await initiative_page(conn, filters, pages.get("pagina")),
        "years": await years(conn),
        **await round_page(conn, pages.get("ronde")),
    }


FINGERPRINT = (
    "SELECT (SELECT count(*) || max(created_at)::text FROM initiatives),"
    " (SELECT md5(string_agg(status, ',' ORDER BY initiative_id)) FROM initiatives),"
    " (SELECT count(*) FROM supports), (SELECT count(*) FROM round_ballots),"
    " (SELECT string_agg(status, ',' ORDER BY round_id) FROM rounds),"
    " (SELECT count(*) FILTER (WHERE removed_at IS NULL) FROM households),"
    " (SELECT string_agg(status, ',' ORDER BY year) FROM years)"
)
"""What changes when anything the dashboard shows changes."""
