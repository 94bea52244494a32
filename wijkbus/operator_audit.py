"""The operators' audit trail: every write an operator makes, with their name (and role)."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def record(
    pool: asyncpg.Pool, at: datetime, operator: str, role: str, action: str, target: str,
    status: int,
) -> None:  # fmt: skip
    """One row of `operator_actions`: `action` is the method (or login/logout), `target` the
    path it acted on (never a query string or a body: no personal data)."""
    await pool.execute(
        "INSERT INTO operator_actions (at, operator, role, action, target, status)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        at, operator, role, action, target[:500], status,
    )  # fmt: skip


async def actions(pool: asyncpg.Pool, operator: str | None = None) -> list[asyncpg.Record]:
    """The recorded actions in order, of one operator or of all."""
    return await pool.fetch(
        "SELECT at, operator, role, action, target, status FROM operator_actions"
        " WHERE $1::text IS NULL OR operator = $1 ORDER BY id",
        operator,
    )
