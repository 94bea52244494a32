"""Abonnementen in notify's schema: subscriptions on channel 'notificaties' with their kanalen."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

_COLUMNS = "id, owner_partner_id, callback_url, kanalen, created_at FROM subscriptions"


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _row(r: asyncpg.Record) -> dict[str, Any]:
    return {**dict(r), "kanalen": json.loads(r["kanalen"])}


async def abonnementen(conn: asyncpg.Connection, owner: str | None) -> list[dict[str, Any]]:
    """The abonnementen not deleted; with `owner`, only that partner's."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} WHERE channel = 'notificaties' AND status <> 'deleted'"
        " AND ($1::text IS NULL OR owner_partner_id = $1) ORDER BY created_at, id",
        owner,
    )
    return [_row(r) for r in rows]


async def abonnement(
    conn: asyncpg.Connection, abonnement_id: str, owner: str | None, *, lock: bool = False
) -> dict[str, Any] | None:
    """One abonnement not deleted; with `owner`, only if that partner owns it."""
    key = _uuid(abonnement_id)
    if key is None:
        return None
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} WHERE id = $1 AND channel = 'notificaties' AND status <> 'deleted'"
        " AND ($2::text IS NULL OR owner_partner_id = $2)" + (" FOR UPDATE" if lock else ""),
        key,
        owner,
    )
    return None if row is None else _row(row)


async def change(
    conn: asyncpg.Connection,
    abonnement_id: UUID,
    *,
    callback_url: str,
    authorization_enc: bytes | None,
    types: list[str],
    kanalen: list[dict[str, Any]],
    at: datetime,
) -> None:
    """Store an abonnement's new callback, auth (None: unchanged) and kanalen."""
    await conn.execute(
        "UPDATE subscriptions SET callback_url = $2,"
        " authorization_enc = coalesce($3, authorization_enc), types = $4, kanalen = $5::jsonb,"
        " status_reason = 'changed through the Notificaties API', status_changed_at = $6"
        " WHERE id = $1",
        abonnement_id,
        callback_url,
        authorization_enc,
        types,
        json.dumps(kanalen),
        at,
    )
