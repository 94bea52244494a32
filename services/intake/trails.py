"""The hash chains of what a signal's trail shows besides the event log.

`wijkbus audit trail` shows, for a signal, what intake received (`received_events`), who asked
for its sealed person (`vault_reads`), what retention did (`retention_log`) and who erased a
subject (`vault_erasures`). Each of those tables is chained as the event log is: the sealer gives
committed rows a position in order and

    content_hash = sha256(canonical("trail-v1", table, every column the trail shows))
    row_hash     = sha256(f"{position}:{prev_hash}:{content_hash}")

so editing, deleting or reordering a sealed row breaks its chain at that row. Each scheduled
checkpoint also signs every trail's head (a `trail-checkpoint` act naming the table), so rows
removed from a trail's end are found like the event log's. Rows written before migration 0007
are chained when the sealer first runs after it: they are vouched for from then on.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from services.intake import chaining, ledger


@dataclass(frozen=True)
class Trail:
    """A chained table: the column that orders its rows when sealed, and the columns hashed."""

    table: str
    order: str
    columns: tuple[str, ...]


TRAILS = (
    Trail(
        "received_events",
        "seq",
        ("source", "event_id", "body_hash", "partner_id", "type", "signal_id", "received_at"),
    ),
    Trail("vault_reads", "id", ("partner_id", "signal_id", "outcome", "at")),
    Trail("retention_log", "id", ("at", "signal_id", "categorie", "action", "reason")),
    Trail("vault_erasures", "id", ("subject_ref", "erased_at", "erased_by", "persons")),
)
BY_TABLE = {t.table: t for t in TRAILS}
RECEIVED = BY_TABLE["received_events"]


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def content_hash(trail: Trail, row: asyncpg.Record) -> str:
    """The hash of one row's shown columns."""
    return content_hash_of(trail, [row[c] for c in trail.columns])


def content_hash_of(trail: Trail, values: Sequence[object]) -> str:
    """The hash of a row's shown columns given as values, in the trail's column order."""
    fields = ["trail-v1", trail.table, *(_plain(v) for v in values)]
    return chaining.canonical_hash(fields)


def lock_name(trail: Trail) -> str:
    """The advisory lock under which `trail`'s rows get their chain positions."""
    return f"{ledger.SEAL_LOCK}.{trail.table}"


async def head(conn: asyncpg.Connection, trail: Trail) -> tuple[int, str]:
    """The trail's sealed head: (position, row hash), (0, GENESIS) when nothing is sealed."""
    return await chaining.sealed_head(conn, trail.table)


async def seal(conn: asyncpg.Connection, trail: Trail, batch: int = 1000) -> int:
    """Give up to `batch` committed, unsealed rows of `trail` their chain place; how many.
    With nothing to seal it takes no lock, so no writer waits for it."""
    if not await chaining.anything_unsealed(conn, trail.table):
        return 0
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", lock_name(trail))
        position, prev = await head(conn, trail)
        rows = await conn.fetch(
            f"SELECT {trail.order} AS k, {', '.join(trail.columns)} FROM {trail.table}"
            f" WHERE position IS NULL ORDER BY {trail.order} LIMIT $1",
            batch,
        )
        links = chaining.link(position, prev, [content_hash(trail, row) for row in rows])
        if rows:
            await conn.execute(
                f"UPDATE {trail.table} t SET position = s.position, prev_hash = s.prev,"
                " row_hash = s.hash FROM unnest($1::bigint[], $2::bigint[], $3::text[],"
                f" $4::text[]) AS s(k, position, prev, hash) WHERE t.{trail.order} = s.k",
                [row["k"] for row in rows],
                [link.position for link in links],
                [link.prev_hash for link in links],
                [link.row_hash for link in links],
            )
    return len(rows)


async def seal_all(pool: asyncpg.Pool) -> None:
    """The sealer's round: the event log, then every trail, until nothing is left unsealed."""
    await ledger.seal_all(pool)
    async with pool.acquire() as conn:
        for trail in TRAILS:
            while await seal(conn, trail) > 0:
                pass


@dataclass(frozen=True)
class Walked:
    """One trail's chain as `walk` found it."""

    table: str
    sealed: int
    unsealed: int
    head_position: int
    head_hash: str
    broken_position: int | None = None
    problem: str | None = None


async def walk(conn: asyncpg.Connection, trail: Trail, vouched: dict[int, str]) -> Walked:
    """Walk `trail` in chain order and stop at the first row that does not hold; `vouched`:
    the row hash a signed checkpoint gives each position."""
    expected, prev = 0, ledger.GENESIS
    query = (
        f"SELECT position, prev_hash, row_hash, {', '.join(trail.columns)} FROM {trail.table}"
        " WHERE position > $1 ORDER BY position LIMIT $2"
    )
    unsealed = int(
        await conn.fetchval(f"SELECT count(*) FROM {trail.table} WHERE position IS NULL")
    )
    async for row in ledger.pages(conn, query, "position", 0):
        expected += 1
        problem = _problem(trail, row, expected, prev, vouched.get(expected))
        if problem is not None:
            return Walked(
                trail.table, expected - 1, unsealed, expected - 1, prev, expected, problem
            )
        prev = row["row_hash"]
    end = Walked(trail.table, expected, unsealed, expected, prev)
    beyond = [p for p in vouched if p > expected]
    if beyond:
        problem = (
            f"a signed checkpoint vouches for row {max(beyond)}, but the chain ends at row"
            f" {expected}: its newest rows were removed"
        )
        return Walked(trail.table, expected, unsealed, expected, prev, max(beyond), problem)
    return end


def _problem(
    trail: Trail, row: asyncpg.Record, expected: int, prev: str, signed: str | None
) -> str | None:
    if row["position"] != expected:
        return f"it is missing: the chain jumps from {expected - 1} to {row['position']}"
    if row["prev_hash"] != prev:
        return "it does not link to the row before it"
    if row["row_hash"] != chaining.row_hash(expected, prev, content_hash(trail, row)):
        return "its content was changed after it was sealed"
    if signed is not None and signed != row["row_hash"]:
        return "its chain hash is not the one a signed checkpoint gave it: rewritten"
    return None
