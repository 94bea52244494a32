"""Operators' dashboard sessions: a random cookie, known server-side, that expires and ends.

The cookie is 32 random bytes; the service keeps only its sha256 with the operator, role and
expiry (table `operator_sessions`). Logout ends the row, so a copied cookie stops working
then, and at its expiry whatever the browser does.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

# An expired or ended session's row stays this long (who was logged in when), then goes; what
# the operator did stays in operator_actions.
KEEP_EXPIRED = timedelta(days=30)


@dataclass(frozen=True)
class Session:
    """A live session: who it is of, as what, and how they logged in."""

    operator: str
    role: str
    via: str
    token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode(errors="surrogatepass")).hexdigest()


async def start(
    pool: asyncpg.Pool, operator: str, role: str, via: str, now: datetime, ttl_s: float
) -> str:
    """Start a session and return its cookie value (and forget sessions long expired)."""
    token = secrets.token_urlsafe(32)
    await pool.execute("DELETE FROM operator_sessions WHERE expires_at < $1", now - KEEP_EXPIRED)
    await pool.execute(
        "INSERT INTO operator_sessions (token_sha256, operator, role, via, started_at,"
        " expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        _digest(token), operator, role, via, now, now + timedelta(seconds=ttl_s),
    )  # fmt: skip
    return token


async def current(pool: asyncpg.Pool, token: str, now: datetime) -> Session | None:
    """The session of this cookie while it has neither expired nor ended."""
    row = await pool.fetchrow(
        "SELECT operator, role, via FROM operator_sessions WHERE token_sha256 = $1"
        " AND ended_at IS NULL AND expires_at > $2",
        _digest(token), now,
    )  # fmt: skip
    return None if row is None else Session(row["operator"], row["role"], row["via"], token)


async def end(pool: asyncpg.Pool, token: str, now: datetime) -> None:
    """End the session (logout): its cookie is no login from now on, wherever it was copied."""
    await pool.execute(
        "UPDATE operator_sessions SET ended_at = $2 WHERE token_sha256 = $1 AND ended_at IS NULL",
        _digest(token), now,
    )  # fmt: skip
