"""A second ceiling for a projection: PostgreSQL writing the rows a rebuild wrote, alone.

Each table of the schema that holds rows is copied, inside PostgreSQL (`INSERT ... SELECT`, one
statement per table, no client, no Python), into an empty copy with the same columns, defaults,
indexes and constraints. What that takes is the least any rebuild of the same rows can spend
in PostgreSQL; a consume rate from the broker says nothing about it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import asyncpg

SCRATCH = "ceiling_scratch"


@dataclass(frozen=True)
class Ceiling:
    """What re-inserting a run's rows took: in all, and per table (rows, seconds)."""

    signals: int
    seconds: float
    per_table: dict[str, tuple[int, float]]

    @property
    def rows(self) -> int:
        """All rows re-inserted."""
        return sum(rows for rows, _ in self.per_table.values())

    @property
    def per_s(self) -> float:
        """Signals per second PostgreSQL alone could store, as the run stored them."""
        return self.signals / self.seconds

    def costliest(self) -> str:
        """The tables that took longest, with their rows and microseconds per signal."""
        top = sorted(self.per_table.items(), key=lambda kv: -kv[1][1])[:6]
        return ", ".join(f"{t} {rows} rows {1e6 * s / self.signals:.0f} us" for t, (rows, s) in top)

    def line(self, who: str, rate: float) -> str:
        """The bench's line: the ceiling, and `who`'s `rate` as a fraction of it."""
        return (
            f"  PostgreSQL ceiling        : {self.per_s:10.0f} signals/s (the {self.rows} rows"
            f" {who} wrote, {self.rows / self.signals:.1f} per signal, re-inserted inside"
            f" PostgreSQL with the same indexes, one statement per table; per signal:"
            f" {self.costliest()}; {who} is {rate / self.per_s:.2f} of it)"
        )


async def rows_rewritten(database: str, schema: str, signals: int) -> Ceiling:
    """What PostgreSQL spends re-inserting `schema`'s rows, the work of `signals` signals."""
    conn = await asyncpg.connect(database)
    try:
        tables = await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY c.relname",
            schema,
        )
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCRATCH} CASCADE; CREATE SCHEMA {SCRATCH}")
        try:
            per_table = {}
            for (table,) in tables:
                if (copied := await _rewrite(conn, f"{schema}.{table}", table)) is not None:
                    per_table[table] = copied
        finally:
            await conn.execute(f"DROP SCHEMA {SCRATCH} CASCADE")
        return Ceiling(signals, sum(s for _, s in per_table.values()), per_table)
    finally:
        await conn.close()


async def _rewrite(conn: asyncpg.Connection, source: str, table: str) -> tuple[int, float] | None:
    """Rows and seconds of copying `source` into its scratch twin; None when it is empty."""
    if not await conn.fetchval(f"SELECT EXISTS (SELECT FROM {source})"):
        return None
    await conn.execute(
        f"CREATE TABLE {SCRATCH}.{table} (LIKE {source} INCLUDING DEFAULTS"
        " INCLUDING INDEXES INCLUDING CONSTRAINTS INCLUDING GENERATED)"
    )
    started = time.perf_counter()
    status = await conn.execute(
        f"INSERT INTO {SCRATCH}.{table} OVERRIDING SYSTEM VALUE SELECT * FROM {source}"
    )
    return int(status.split()[-1]), time.perf_counter() - started
