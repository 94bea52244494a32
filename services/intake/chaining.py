"""Chaining rows as they are written: a batch's positions and hashes computed in Python in the
writing transaction, so no sealer has to read the rows back and update each of them later.

The writer takes the chain's advisory lock (the sealer's), reads the head and appends after it;
the lock is held until its transaction ends, so positions follow commit order as the sealer's
do. Rows some older writer left unsealed are sealed first, so the chain keeps log order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

GENESIS = "0" * 64
Sealer = Callable[[asyncpg.Connection], Awaitable[int]]

_SEALED_HEAD = (
    "SELECT position, row_hash FROM {relation} WHERE position IS NOT NULL"
    " ORDER BY position DESC LIMIT 1"
)
_UNSEALED = "EXISTS (SELECT FROM {relation} WHERE position IS NULL)"
_CLAIM = (
    f"SELECT now() AS now, {_UNSEALED} AS behind, h.position, h.row_hash FROM (VALUES (1)) AS one"
    f" LEFT JOIN LATERAL ({_SEALED_HEAD}) AS h ON true"
)


@dataclass(frozen=True)
class Head:
    """The chain's sealed head as the writer found it, and the writing transaction's time."""

    position: int
    row_hash: str
    now: datetime


@dataclass(frozen=True)
class Link:
    """A new row's place in the chain."""

    position: int
    prev_hash: str
    row_hash: str


_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # built once


def canonical_hash(fields: Sequence[object]) -> str:
    """sha256 of `fields` as canonical JSON (compact, UTF-8): how a chained row's content is
    hashed (json.dumps with these options builds a new encoder per call; the same bytes)."""
    return hashlib.sha256(_CANONICAL.encode(list(fields)).encode()).hexdigest()


def row_hash(position: int, prev_hash: str, content: str) -> str:
    """The chain hash of the row at `position`."""
    return hashlib.sha256(f"{position}:{prev_hash}:{content}".encode()).hexdigest()


def link(position: int, prev: str, contents: Sequence[str]) -> list[Link]:
    """The places of rows with these content hashes, appended in order after the row at
    `position` whose hash is `prev`."""
    links = []
    for content in contents:
        position += 1
        this = row_hash(position, prev, content)
        links.append(Link(position, prev, this))
        prev = this
    return links


async def claim_head(
    conn: asyncpg.Connection, lock: str, relation: str, seal_behind: Sealer
) -> Head:
    """Take the chain's lock until the transaction ends and return its head, after sealing
    what an older writer left unsealed (`seal_behind` seals one batch, returns how many)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", lock)
    # Statements of their own after the lock: they see every chain row committed before it.
    row = await _planned_now(conn, _CLAIM.format(relation=relation))
    assert row is not None  # one row, always
    if not row["behind"]:
        return Head(row["position"] or 0, row["row_hash"] or GENESIS, row["now"])
    while await seal_behind(conn) > 0:
        pass
    return Head(*await sealed_head(conn, relation), row["now"])


async def sealed_head(conn: asyncpg.Connection, relation: str) -> tuple[int, str]:
    """The chain's sealed head: (position, row hash), (0, GENESIS) when nothing is sealed."""
    row = await _planned_now(conn, _SEALED_HEAD.format(relation=relation))
    return (row["position"], row["row_hash"]) if row else (0, GENESIS)


async def anything_unsealed(conn: asyncpg.Connection, relation: str) -> bool:
    """Whether the chain has committed rows without a position (a look, without the lock)."""
    row = await _planned_now(conn, f"SELECT {_UNSEALED.format(relation=relation)} AS unsealed")
    return row is not None and bool(row["unsealed"])


async def _planned_now(conn: asyncpg.Connection, query: str) -> asyncpg.Record | None:
    """The first row of `query`, planned anew, not from the statement cache: a plan cached
    while the chain was short (a scan, a sort) would be kept as the table grows."""
    statement = await conn.prepare(query)
    return await statement.fetchrow()
