"""The wijkhub's tables: hubs as their decisions made them, the decisions' trail, the hubs
a batch of signals may fall in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from contracts.wijkhubs import WijkhubClosed, WijkhubDeclined, WijkhubExtended, WijkhubOpened
from services.routing.wijkhub.domain import Hub

_HUB = "hub_id, street_keys, buurt_code, starts_at, ends_at, opened_at, closed_at"


def hub_from(row: asyncpg.Record) -> Hub:
    """The rules' view of a stored hub."""
    return Hub(
        row["hub_id"],
        frozenset(row["street_keys"]),
        row["buurt_code"],
        row["starts_at"],
        row["ends_at"],
        row["opened_at"],
        row["closed_at"],
    )


async def lock_hubs(conn: asyncpg.Connection) -> None:
    """Serialise hub decisions (across instances) until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('routing:wijkhubs'))")


async def hubs_on(
    conn: asyncpg.Connection, street_keys: Sequence[str], buurt_codes: Sequence[str]
) -> list[Hub]:
    """Every hub on these streets or buurten, in the order they were opened."""
    rows = await conn.fetch(
        f"SELECT {_HUB} FROM wijkhubs WHERE street_keys && $1::text[]"
        " OR buurt_code = ANY($2::text[]) ORDER BY opened_at, hub_id",
        list(street_keys),
        list(buurt_codes),
    )
    return [hub_from(r) for r in rows]


async def hubs_between(conn: asyncpg.Connection, start: datetime, end: datetime) -> list[Hub]:
    """Every hub whose period overlaps [start, end)."""
    rows = await conn.fetch(
        f"SELECT {_HUB} FROM wijkhubs WHERE starts_at < $2"
        " AND least(ends_at, coalesce(closed_at, ends_at)) > $1",
        start,
        end,
    )
    return [hub_from(r) for r in rows]


async def hub(conn: asyncpg.Connection, hub_id: str, *, lock: bool = False) -> asyncpg.Record:
    """A stored hub, every column but the sealed contact; None when unknown."""
    return await conn.fetchrow(
        "SELECT hub_id, street_keys, buurt_code, city, address, starts_at, ends_at, partners,"
        " contact_role, aims, opened_by, opened_at, closed_by, closed_at, outcome_note,"
        " evaluation FROM wijkhubs WHERE hub_id = $1" + (" FOR UPDATE" if lock else ""),
        hub_id,
    )


async def opened(conn: asyncpg.Connection, e: WijkhubOpened) -> bool:
    """Store a newly opened hub; False when it was stored before (a replayed decision)."""
    inserted = await conn.fetchval(
        "INSERT INTO wijkhubs (hub_id, street_keys, buurt_code, city, address, starts_at,"
        " ends_at, partners, contact_role, aims, opened_by, opened_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        " ON CONFLICT (hub_id) DO NOTHING RETURNING true",
        e.hub_id, list(e.street_keys), e.buurt_code, e.city, e.address, e.starts_at,
        e.ends_at, list(e.partners), e.contact_role, e.aims, e.opened_by, e.opened_at,
    )  # fmt: skip
    if inserted:
        await _decided(conn, "opened", e.hub_id, None, None, e.opened_by, e.opened_at, e.ends_at)
    return bool(inserted)


async def extended(conn: asyncpg.Connection, e: WijkhubExtended) -> None:
    """Give the hub its later end."""
    await conn.execute("UPDATE wijkhubs SET ends_at = $2 WHERE hub_id = $1", e.hub_id, e.ends_at)
    await _decided(conn, "extended", e.hub_id, None, None, e.extended_by, e.extended_at, e.ends_at)


async def closed(conn: asyncpg.Connection, e: WijkhubClosed) -> None:
    """Close the hub with the team's note and the evaluation as it was published."""
    await conn.execute(
        "UPDATE wijkhubs SET closed_at = $2, closed_by = $3, outcome_note = $4,"
        " evaluation = $5::jsonb WHERE hub_id = $1",
        e.hub_id,
        e.closed_at,
        e.closed_by,
        e.outcome_note,
        e.evaluation.model_dump_json(),
    )
    await _decided(conn, "closed", e.hub_id, None, e.outcome_note, e.closed_by, e.closed_at, None)


async def declined(conn: asyncpg.Connection, e: WijkhubDeclined) -> None:
    """Record the decision not to open a hub on the street's advice."""
    await _decided(
        conn, "declined", None, e.street_key, e.reason, e.declined_by, e.declined_at, None
    )


async def contact_key(conn: asyncpg.Connection, subject_ref: str, wrapped: bytes) -> bytes | None:
    """The contact person's wrapped data key: the one stored for them before, else `wrapped`."""
    await conn.execute(
        "INSERT INTO wijkhub_contact_keys (subject_ref, wrapped_key) VALUES ($1, $2)"
        " ON CONFLICT (subject_ref) DO NOTHING",
        subject_ref,
        wrapped,
    )
    stored: bytes | None = await conn.fetchval(
        "SELECT wrapped_key FROM wijkhub_contact_keys WHERE subject_ref = $1 FOR SHARE",
        subject_ref,
    )
    return stored


async def seal_contact(
    conn: asyncpg.Connection, hub_id: str, subject_ref: str, sealed: bytes
) -> None:
    """Keep the hub's contact person sealed under their data key."""
    await conn.execute(
        "UPDATE wijkhubs SET contact_subject = $2, contact_sealed = $3 WHERE hub_id = $1",
        hub_id,
        subject_ref,
        sealed,
    )


async def shred_contact(conn: asyncpg.Connection, hub_id: str) -> bool:
    """Delete the data key of the hub's contact person (crypto-shredding: the sealed contact,
    of this hub and any other they were the contact of, can never be opened again)."""
    shredded = await conn.fetchval(
        "UPDATE wijkhub_contact_keys k SET wrapped_key = NULL FROM wijkhubs h"
        " WHERE h.hub_id = $1 AND k.subject_ref = h.contact_subject"
        " AND k.wrapped_key IS NOT NULL RETURNING true",
        hub_id,
    )
    return bool(shredded)


async def sealed_contact(conn: asyncpg.Connection, hub_id: str) -> asyncpg.Record | None:
    """The hub's sealed contact and its wrapped key (None where it was never kept)."""
    return await conn.fetchrow(
        "SELECT h.contact_subject, h.contact_sealed, k.wrapped_key FROM wijkhubs h"
        " LEFT JOIN wijkhub_contact_keys k ON k.subject_ref = h.contact_subject"
        " WHERE h.hub_id = $1",
        hub_id,
    )


async def _decided(conn: asyncpg.Connection, kind: str, *values: Any) -> None:
    await conn.execute(
        "INSERT INTO wijkhub_decisions (kind, hub_id, street_key, reason, decided_by,"
        " decided_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        kind,
        *values,
    )
