"""asyncpg queries for the register: municipalities, households, years and voting codes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.budget import addresses, codes, household_store
from services.budget.domain.households import Household, RegisterChanges, RegisterError, compare
from wijkbus.vault import Vault


class YearError(Exception):
    """A year cannot be opened, used or closed as asked (message in English, for the CLI)."""


@dataclass(frozen=True)
class Year:
    """A municipality's buurtbudget year."""

    municipality: str
    year: int
    allowance_cents: int
    funding_rule: str
    status: str


@dataclass(frozen=True)
class Letter:
    """What one household's letter says: its address and its new code (never stored).

    Street, city and buurt name are empty when the register did not give them.
    """

    postcode: str
    house_number: str
    buurt_code: str
    code: str
    street: str = ""
    city: str = ""
    buurt_name: str = ""


async def ensure_municipality(conn: asyncpg.Connection, municipality: str) -> None:
    """Register a municipality with the default allowance and rule, if it is new."""
    await conn.execute(
        "INSERT INTO municipalities (municipality) VALUES ($1) ON CONFLICT DO NOTHING",
        municipality,
    )


async def import_households(
    conn: asyncpg.Connection,
    municipality: str,
    incoming: list[Household],
    now: datetime,
    vault: Vault | None = None,
) -> RegisterChanges:
    """Replace a municipality's register with `incoming` in one transaction; say what changed.

    A register with streets and cities needs the vault to seal them (RegisterError without).
    """
    addressed = any(h.street for h in incoming)
    if addressed and vault is None:
        raise RegisterError([f"the register has addresses: set {addresses.VAULT_KEY_ENV}"])
    async with conn.transaction():
        await ensure_municipality(conn, municipality)
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('households:' || $1))",
                           municipality)  # fmt: skip
        sealing = vault if addressed else None
        changes = compare(await household_store.current(conn, municipality, sealing), incoming)
        await household_store.save(
            conn, municipality, (*changes.added, *changes.changed), now, sealing
        )
        await household_store.remove(conn, list(changes.removed), now)
        await household_store.save_buurt_names(conn, municipality, incoming)
    return changes


async def open_year(
    conn: asyncpg.Connection,
    municipality: str,
    year: int,
    allowance_cents: int | None,
    funding_rule: str | None,
) -> Year:
    """Open a year with the municipality's allowance and rule (changed first if given)."""
    async with conn.transaction():
        await ensure_municipality(conn, municipality)
        if allowance_cents is not None:
            await conn.execute(
                "UPDATE municipalities SET allowance_cents = $2 WHERE municipality = $1",
                municipality, allowance_cents,
            )  # fmt: skip
        if funding_rule is not None:
            await conn.execute(
                "UPDATE municipalities SET funding_rule = $2 WHERE municipality = $1",
                municipality, funding_rule,
            )  # fmt: skip
        row = await conn.fetchrow(
            "INSERT INTO years (municipality, year, allowance_cents, funding_rule)"
            " SELECT municipality, $2, allowance_cents, funding_rule FROM municipalities"
            " WHERE municipality = $1 ON CONFLICT DO NOTHING"
            " RETURNING municipality, year, allowance_cents, funding_rule, status",
            municipality,
            year,
        )
        if row is None:
            raise YearError(f"{municipality} {year} was opened before")
    return Year(**dict(row))


async def get_year(conn: asyncpg.Connection, municipality: str, year: int) -> Year:
    """A year as it was opened; YearError when it was never opened."""
    row = await conn.fetchrow(
        "SELECT municipality, year, allowance_cents, funding_rule, status FROM years"
        " WHERE municipality = $1 AND year = $2",
        municipality,
        year,
    )
    if row is None:
        raise YearError(f"{municipality} {year} is not opened")
    return Year(**dict(row))


async def open_year_of(conn: asyncpg.Connection, municipality: str) -> Year | None:
    """The municipality's open year (the latest, should there be more)."""
    row = await conn.fetchrow(
        "SELECT municipality, year, allowance_cents, funding_rule, status FROM years"
        " WHERE municipality = $1 AND status = 'open' ORDER BY year DESC LIMIT 1",
        municipality,
    )
    return Year(**dict(row)) if row else None


async def issue_codes(
    conn: asyncpg.Connection,
    municipality: str,
    year: int,
    buurt_code: str,
    vault: Vault | None = None,
    deliver: Callable[[list[Letter]], object] | None = None,
) -> tuple[list[Letter], int]:
    """A new code for every household of the buurt that has none this year; (letters, skipped).

    The codes leave this function only in the letters: the database keeps their hashes. The
    addresses are opened with `vault` (AddressError when they are sealed and it is None).
    `deliver` (e.g. writing the letters) runs before the codes are committed: when it fails,
    no code is stored that nobody has on paper.
    """
    async with conn.transaction():
        y = await get_year(conn, municipality, year)
        if y.status != "open":
            raise YearError(f"{municipality} {year} is closed")
        households = await conn.fetch(
            "SELECT h.household_id, h.address_id, h.postcode, h.house_number, h.address_key,"
            " h.address_sealed FROM households h"
            " WHERE h.municipality = $1 AND h.buurt_code = $2 AND h.removed_at IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM voting_codes c"
            "   WHERE c.household_id = h.household_id AND c.year = $3)"
            # In the order a postman walks: postcode, then house number as a number.
            " ORDER BY h.postcode, substring(h.house_number from '^[0-9]+')::numeric NULLS LAST,"
            " h.house_number",
            municipality,
            buurt_code,
            year,
        )
        skipped = await conn.fetchval(
            "SELECT count(*) FROM voting_codes c JOIN households h USING (household_id)"
            " WHERE h.municipality = $1 AND h.buurt_code = $2 AND c.year = $3",
            municipality,
            buurt_code,
            year,
        )
        name = await household_store.buurt_name(conn, municipality, buurt_code)
        letters = [
            Letter(h["postcode"], h["house_number"], buurt_code, codes.new_code(),
                   *addresses.open_row(vault, h), buurt_name=name)
            for h in households
        ]  # fmt: skip
        await conn.executemany(
            "INSERT INTO voting_codes (code_hash, household_id, municipality, year)"
            " VALUES ($1, $2, $3, $4)",
            [
                (codes.code_hash(letter.code), h["household_id"], municipality, year)
                for letter, h in zip(letters, households, strict=True)
            ],
        )
        if deliver is not None:
            await asyncio.to_thread(deliver, letters)
    return letters, int(skipped)


@dataclass(frozen=True)
class CodeHolder:
    """The household a valid code belongs to, as far as support needs it (no address)."""

    household_id: str
    municipality: str
    year: int
    buurt_code: str
    allowance_cents: int
    funding_rule: str


async def holder_of(conn: asyncpg.Connection, code: str) -> CodeHolder | None:
    """The household of a code in an open year; None for an unknown code or a closed year."""
    if not codes.looks_like_a_code(code):
        return None
    row = await conn.fetchrow(
        "SELECT c.household_id::text, c.municipality, c.year, h.buurt_code, y.allowance_cents,"
        " y.funding_rule FROM voting_codes c JOIN households h USING (household_id)"
        " JOIN years y ON y.municipality = c.municipality AND y.year = c.year"
        " WHERE c.code_hash = $1 AND h.removed_at IS NULL AND y.status = 'open'",
        codes.code_hash(code),
    )
    return CodeHolder(**dict(row)) if row else None


async def buurt_households(conn: asyncpg.Connection, municipality: str, buurt_code: str) -> int:
    """How many households the buurt has now."""
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM households WHERE municipality = $1 AND buurt_code = $2"
            " AND removed_at IS NULL",
            municipality,
            buurt_code,
        )
    )
