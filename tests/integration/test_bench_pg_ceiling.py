"""The benchmarks' PostgreSQL ceiling re-inserts exactly the rows a schema holds, with its
indexes and constraints, and leaves the schema and the database as they were."""

from __future__ import annotations

import asyncpg

from bench.pg_ceiling import SCRATCH, rows_rewritten


async def test_every_row_of_every_table_is_rewritten_once_and_nothing_is_left_behind(
    fresh_database: str,
) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute(
            "CREATE SCHEMA proj;"
            " CREATE TABLE proj.a (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);"
            " CREATE INDEX a_v ON proj.a (v);"
            " CREATE TABLE proj.b (k text PRIMARY KEY, n int NOT NULL CHECK (n > 0));"
            " CREATE TABLE proj.empty (k text PRIMARY KEY);"
            " INSERT INTO proj.a (v) SELECT 'v' || g FROM generate_series(1, 300) g;"
            " INSERT INTO proj.b SELECT 'k' || g, g FROM generate_series(1, 70) g;"
        )
        ceiling = await rows_rewritten(fresh_database, "proj", 10)
        assert ceiling.rows == 370
        assert {t: n for t, (n, _) in ceiling.per_table.items()} == {"a": 300, "b": 70}
        assert ceiling.seconds > 0
        assert ceiling.costliest().count(" rows ") == 2
        assert await conn.fetchval("SELECT count(*) FROM proj.a") == 300
        assert not await conn.fetchval(
            "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", SCRATCH
        )
    finally:
        await conn.close()
