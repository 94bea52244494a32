"""The asyncpg pool and numbered SQL migrations, one PostgreSQL schema per service."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg

from wijkbus.logging import get_logger

KIT_MIGRATIONS = Path(__file__).parent / "sql"
_NUMBERED = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

log = get_logger(__name__)


def _check_schema(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


def checked_schema(schema: str) -> str:
    """`schema` itself, refused unless it is a plain lower-case identifier (safe in SQL text)."""
    return _check_schema(schema)


async def create_pool(
    database_url: str,
    schema: str,
    *,
    max_size: int = 10,
    reset: bool = True,
    generic_plans: bool = False,
) -> asyncpg.Pool:
    """A pool whose connections see only `schema` (and `public`) by default.

    `reset=False` skips asyncpg's reset query (advisory unlocks, UNLISTEN, RESET ALL: one round
    trip) when a connection goes back: only for a pool on which nothing session-level is used.
    `generic_plans` plans each prepared statement once (plan_cache_mode): PostgreSQL otherwise
    keeps planning a statement over `unnest`ed arrays anew on every execution when it judges
    the generic plan costlier, and for a batch of a few rows the planning is most of the work
    (a ballot's holders: 460 of 900 us of the server's CPU for a batch of one)."""
    settings = {"search_path": _check_schema(schema), "application_name": schema}
    if generic_plans:
        settings["plan_cache_mode"] = "force_generic_plan"
    pool = await asyncpg.create_pool(
        database_url,
        min_size=1,
        max_size=max_size,
        reset=None if reset else _kept,
        server_settings=settings,
    )
    assert pool is not None
    return pool


async def _kept(_: asyncpg.Connection) -> None:
    """A connection goes back to its pool as it is."""


def migration_files(directory: Path) -> list[tuple[str, Path]]:
    """The numbered `NNNN_name.sql` files of a directory, in order; anything else is an error."""
    files = []
    for path in sorted(directory.glob("*.sql")):
        match = _NUMBERED.match(path.name)
        if not match:
            raise ValueError(f"migration {path} is not named NNNN_name.sql")
        files.append((path.stem, path))
    return files


async def migrate(conn: asyncpg.Connection, schema: str, service_migrations: Path) -> list[str]:
    """Create `schema` and apply the kit's and the service's pending migrations; return them."""
    _check_schema(schema)
    applied: list[str] = []
    async with conn.transaction():
        # One migrator per schema at a time, across processes.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"migrate:{schema}")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(f"SET LOCAL search_path TO {schema}")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        pending = [("kit:" + v, p) for v, p in migration_files(KIT_MIGRATIONS)]
        pending += migration_files(service_migrations)
        for version, path in pending:
            if version in done:
                continue
            await conn.execute(path.read_text(encoding="utf-8"))
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            applied.append(version)
    if applied:
        log.info("migrations applied", schema=schema, versions=applied)
    return applied


async def migrate_url(database_url: str, schema: str, service_migrations: Path) -> list[str]:
    """Open one connection to `database_url` and migrate `schema`."""
    conn = await asyncpg.connect(database_url)
    try:
        return await migrate(conn, schema, service_migrations)
    finally:
        await conn.close()
