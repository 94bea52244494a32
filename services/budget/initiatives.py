"""asyncpg queries for initiatives and the support households give them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.budget.domain.initiatives import Initiative, Support

_COLUMNS = (
    "initiative_id::text, municipality, year, buurt_code, title, description, cost_cents, status,"
    " funding_rule, deadline, reason"
)


class UnknownInitiativeError(LookupError):
    """No initiative with this id (or not in this municipality and year)."""


def as_domain(row: asyncpg.Record) -> Initiative:
    """The rules' view of a stored initiative."""
    return Initiative(
        row["initiative_id"], row["status"], row["cost_cents"], row["funding_rule"], row["deadline"]
    )


async def insert(conn: asyncpg.Connection, values: dict[str, Any]) -> None:
    """Store a proposed initiative."""
    await conn.execute(
        "INSERT INTO initiatives (initiative_id, municipality, year, buurt_code, title,"
        " description, cost_cents, funding_rule, contact_subject, contact_sealed, created_at,"
        " proposed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        *(values[k] for k in (
            "initiative_id", "municipality", "year", "buurt_code", "title", "description",
            "cost_cents", "funding_rule", "contact_subject", "contact_sealed", "created_at",
            "proposed_by",
        )),
    )  # fmt: skip


async def load_for_update(conn: asyncpg.Connection, initiative_id: str) -> asyncpg.Record:
    """An initiative, locked until the transaction ends (support is decided one at a time)."""
    try:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM initiatives WHERE initiative_id = $1::uuid FOR UPDATE",
            initiative_id,
        )
    except asyncpg.DataError:  # not a uuid
        row = None
    if row is None:
        raise UnknownInitiativeError(initiative_id)
    return row


async def public(conn: asyncpg.Connection, initiative_id: str) -> asyncpg.Record | None:
    """An initiative as anyone allowed to see initiatives may read it (never its contact)."""
    try:
        return await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM initiatives WHERE initiative_id = $1::uuid", initiative_id
        )
    except asyncpg.DataError:  # not a uuid
        return None


async def set_status(
    conn: asyncpg.Connection,
    initiative: Initiative,
    reason: str | None,
    at: datetime,
) -> None:
    """Save an initiative's new status (and deadline), with the reason and when it was decided."""
    await conn.execute(
        "UPDATE initiatives SET status = $2, deadline = $3, reason = coalesce($4, reason),"
        " decided_at = CASE WHEN $2 IN ('open', 'voorgesteld') THEN decided_at ELSE $5 END"
        " WHERE initiative_id = $1::uuid",
        initiative.initiative_id,
        initiative.status,
        initiative.deadline,
        reason,
        at,
    )


async def add_support(
    conn: asyncpg.Connection, row: asyncpg.Record, supporter: str, amount_cents: int, at: datetime
) -> None:
    """Record one household's support; a unique violation means it already had its say."""
    await conn.execute(
        "INSERT INTO supports (initiative_id, municipality, year, buurt_code, supporter,"
        " funding_rule, amount_cents, supported_at) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8)",
        row["initiative_id"], row["municipality"], row["year"], row["buurt_code"], supporter,
        row["funding_rule"], amount_cents, at,
    )  # fmt: skip


async def remove_support(conn: asyncpg.Connection, initiative_id: str, supporter: str) -> bool:
    """Take a household's support back; False when it had none."""
    status = await conn.execute(
        "DELETE FROM supports WHERE initiative_id = $1::uuid AND supporter = $2",
        initiative_id,
        supporter,
    )
    return status != "DELETE 0"


async def support_of(
    conn: asyncpg.Connection, row: asyncpg.Record, allowance_cents: int
) -> Support:
    """How many households support an initiative, and how many its buurt has."""
    counts = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM supports WHERE initiative_id = $1::uuid) AS supporters,"
        " (SELECT count(*) FROM households WHERE municipality = $2 AND buurt_code = $3"
        "  AND removed_at IS NULL) AS households",
        row["initiative_id"],
        row["municipality"],
        row["buurt_code"],
    )
    return Support(counts["supporters"], allowance_cents, counts["households"])


async def supported_by(
    conn: asyncpg.Connection, municipality: str, year: int, supporter: str
) -> list[str]:
    """The initiatives a household (by its year pseudonym) supports."""
    rows = await conn.fetch(
        "SELECT initiative_id::text FROM supports"
        " WHERE municipality = $1 AND year = $2 AND supporter = $3",
        municipality,
        year,
        supporter,
    )
    return [r["initiative_id"] for r in rows]


async def of_buurt(
    conn: asyncpg.Connection, municipality: str, year: int, buurt_code: str
) -> list[asyncpg.Record]:
    """The buurt's initiatives residents can see (admitted or decided), with their support."""
    return await conn.fetch(
        f"SELECT {_COLUMNS}, (SELECT count(*) FROM supports s"
        "  WHERE s.initiative_id = i.initiative_id) AS supporters"
        " FROM initiatives i WHERE municipality = $1 AND year = $2 AND buurt_code = $3"
        " AND status NOT IN ('voorgesteld', 'afgewezen') ORDER BY status = 'open' DESC, title",
        municipality,
        year,
        buurt_code,
    )


async def proposed_by(
    conn: asyncpg.Connection, municipality: str, year: int, proposer: str
) -> list[asyncpg.Record]:
    """The initiatives a household (by its year pseudonym) proposed, newest first."""
    return await conn.fetch(
        f"SELECT {_COLUMNS} FROM initiatives"
        " WHERE municipality = $1 AND year = $2 AND proposed_by = $3 ORDER BY created_at DESC",
        municipality,
        year,
        proposer,
    )


async def open_ones(
    conn: asyncpg.Connection, municipality: str, year: int, *, due_before: datetime | None = None
) -> list[asyncpg.Record]:
    """Initiatives of a year still to be settled (only those past `due_before`, if given)."""
    return await conn.fetch(
        f"SELECT {_COLUMNS} FROM initiatives WHERE municipality = $1 AND year = $2"
        " AND status IN ('voorgesteld', 'open')"
        " AND ($3::timestamptz IS NULL OR deadline <= $3) ORDER BY created_at FOR UPDATE",
        municipality,
        year,
        due_before,
    )


async def funded_spending(
    conn: asyncpg.Connection, municipality: str, year: int
) -> list[tuple[str, int, int]]:
    """Per funded initiative of the year: (rule, cost, pledged cents)."""
    rows = await conn.fetch(
        "SELECT i.funding_rule, i.cost_cents, coalesce(sum(s.amount_cents), 0) AS pledged"
        " FROM initiatives i LEFT JOIN supports s USING (initiative_id)"
        " WHERE i.municipality = $1 AND i.year = $2 AND i.status = 'gefinancierd'"
        " GROUP BY i.initiative_id",
        municipality,
        year,
    )
    return [(r["funding_rule"], r["cost_cents"], r["pledged"]) for r in rows]
