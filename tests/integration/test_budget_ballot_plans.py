"""The ballot box's connections plan each statement once (generic plans), before the sizes of a
batch or of the tables are known: every row its statements read is found by an index in that
plan, so a table that grows after the plan was made (the rate-limit buckets under a brute-force
attack) is never scanned whole per batch."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from services.budget import casting
from wijkbus import db, ratelimit

MIGRATIONS = Path(__file__).parents[2] / "services" / "budget" / "migrations"

# Statement, the parameters EXPLAIN EXECUTE gives it (values do not matter to a generic plan),
# and the tables it must never read with a sequential scan.
STATEMENTS = {
    "waits": (ratelimit._WAITS, "'{b}', '{1}', '{1}'", ["rate_buckets"]),
    "holders": (
        casting._HOLDERS_AND_ROUNDS,
        "'{1}', '{}', '{r}'",
        ["voting_codes", "households", "round_projects"],
    ),
}


async def _generic_plan(conn: asyncpg.Connection, name: str, sql: str, args: str) -> str:
    await conn.execute(f"PREPARE {name} AS {sql}")
    rows = await conn.fetch(f"EXPLAIN EXECUTE {name}({args})")
    return "\n".join(r[0] for r in rows)


async def test_the_ballot_box_statements_read_by_index_in_a_plan_made_on_empty_tables(
    fresh_database: str,
) -> None:
    await db.migrate_url(fresh_database, "budget", MIGRATIONS)
    conn = await asyncpg.connect(
        fresh_database,
        server_settings={"search_path": "budget", "plan_cache_mode": "force_generic_plan"},
    )
    try:
        for name, (sql, args, tables) in STATEMENTS.items():
            plan = await _generic_plan(conn, name, sql, args)
            for table in tables:
                assert f" on {table}" in plan, f"{name} does not read {table}:\n{plan}"
                assert f"Seq Scan on {table}" not in plan, f"{name} scans {table}:\n{plan}"
    finally:
        await conn.close()
