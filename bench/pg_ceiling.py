"""A second ceiling for a projection: PostgreSQL writing the rows a rebuild wrote, alone.

Each table of the schema that holds rows is copied, inside PostgreSQL (`INSERT ... SELECT`, one
statement per table, no client, no Python), into an empty copy with the same columns, defaults,
indexes and constraints. What that takes is the least any rebuild of the same rows can spend
in PostgreSQL; a consume rate from the broker says nothing about it.
"""

from __future__ import annotations

import time

import asyncpg

SCRATCH = "ceiling_scratch"


async def rows_rewritten(
    database: str, schema: str
) -> tuple[float, int, dict[str, tuple[int, float]]]:
    """Seconds PostgreSQL spent re-inserting `schema`'s rows, how many, and per table the rows
    and the seconds."""
    conn = await asyncpg.connect(database)
    try:
        tables = [
            r["relname"]
            for r in await conn.fetch(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY c.relname",
                schema,
            )
        ]
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCRATCH} CASCADE; CREATE SCHEMA {SCRATCH}")
        per_table: dict[str, tuple[int, float]] = {}
        spent = 0.0
        for table in tables:
            source = f"{schema}.{table}"
            if not await conn.fetchval(f"SELECT EXISTS (SELECT FROM {source})"):
                continue
            await conn.execute(
                f"CREATE TABLE {SCRATCH}.{table} (LIKE {source} INCLUDING DEFAULTS"
                " INCLUDING INDEXES INCLUDING CONSTRAINTS INCLUDING GENERATED)"
            )
            started = time.perf_counter()
            status = await conn.execute(
                f"INSERT INTO {SCRATCH}.{table} OVERRIDING SYSTEM VALUE SELECT * FROM {source}"
            )
            took = time.perf_counter() - started
            spent += took
            per_table[table] = int(status.split()[-1]), took
        await conn.execute(f"DROP SCHEMA {SCRATCH} CASCADE")
        return spent, sum(rows for rows, _ in per_table.values()), per_table
    finally:
        await conn.close()


def costliest(per_table: dict[str, tuple[int, float]], count: int) -> str:
    """The tables that took longest, with their rows and microseconds per `count` (signals)."""
    top = sorted(per_table.items(), key=lambda kv: -kv[1][1])[:6]
    return ", ".join(f"{t} {rows} rows {1e6 * s / count:.0f} us" for t, (rows, s) in top)
