"""asyncpg queries for the households of the register and the buurten's names."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import asyncpg

from services.budget import addresses
from services.budget.domain.households import Household
from wijkbus.vault import Vault


async def current(
    conn: asyncpg.Connection, municipality: str, vault: Vault | None
) -> dict[str, Household]:
    """The municipality's households now, by address id; streets and cities opened with `vault`
    (left empty without one: a register without addresses does not compare them)."""
    rows = await conn.fetch(
        "SELECT address_id, postcode, house_number, buurt_code, address_key, address_sealed"
        " FROM households WHERE municipality = $1 AND removed_at IS NULL",
        municipality,
    )
    households = {}
    for r in rows:
        street, city = addresses.open_row(vault, r) if vault else ("", "")
        households[r["address_id"]] = Household(
            r["address_id"], r["postcode"], r["house_number"], r["buurt_code"], street, city
        )
    return households


async def save(
    conn: asyncpg.Connection,
    municipality: str,
    households: Iterable[Household],
    now: datetime,
    vault: Vault | None,
) -> None:
    """Insert or update households; with a vault their streets and cities are sealed anew.

    Without one (a register without addresses) a household keeps its sealed address unless
    its postcode or house number changed: then the old street would be wrong on the letter.
    """
    rows = []
    for h in households:
        sealed = addresses.seal(vault, h.address_id, h.street, h.city) if vault else None
        rows.append(
            (h.address_id, h.postcode, h.house_number, h.buurt_code, municipality, now,
             sealed.wrapped_key if sealed else None, sealed.sealed if sealed else None)
        )  # fmt: skip
    keep = "households.postcode = EXCLUDED.postcode AND households.house_number ="
    keep += " EXCLUDED.house_number AND EXCLUDED.address_key IS NULL"
    await conn.executemany(
        "INSERT INTO households (address_id, postcode, house_number, buurt_code, municipality,"
        " imported_at, updated_at, address_key, address_sealed)"
        " VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)"
        " ON CONFLICT (address_id) DO UPDATE SET postcode = EXCLUDED.postcode,"
        " house_number = EXCLUDED.house_number, buurt_code = EXCLUDED.buurt_code,"
        " municipality = EXCLUDED.municipality, updated_at = EXCLUDED.updated_at,"
        f" address_key = CASE WHEN {keep} THEN households.address_key"
        " ELSE EXCLUDED.address_key END,"
        f" address_sealed = CASE WHEN {keep} THEN households.address_sealed"
        " ELSE EXCLUDED.address_sealed END,"
        " removed_at = NULL",
        rows,
    )


async def remove(conn: asyncpg.Connection, address_ids: list[str], now: datetime) -> None:
    """Mark households removed and shred their sealed addresses (nobody writes to them now)."""
    # Removed, not deleted: their codes and support of earlier years keep their reference.
    await conn.execute(
        "UPDATE households SET removed_at = $2, updated_at = $2, address_key = NULL,"
        " address_sealed = NULL WHERE address_id = ANY($1::text[])",
        address_ids,
        now,
    )


async def save_buurt_names(
    conn: asyncpg.Connection, municipality: str, households: Iterable[Household]
) -> None:
    """Record the buurten's names the register gives (a later register may rename them)."""
    names = {h.buurt_code: h.buurt_name for h in households if h.buurt_name}
    await conn.executemany(
        "INSERT INTO buurten (municipality, buurt_code, name) VALUES ($1, $2, $3)"
        " ON CONFLICT (municipality, buurt_code) DO UPDATE SET name = EXCLUDED.name",
        [(municipality, code, name) for code, name in names.items()],
    )


async def buurt_name(conn: asyncpg.Connection, municipality: str, buurt_code: str) -> str:
    """The buurt's name as a register gave it; "" when none did."""
    name: str | None = await conn.fetchval(
        "SELECT name FROM buurten WHERE municipality = $1 AND buurt_code = $2",
        municipality,
        buurt_code,
    )
    return name or ""
