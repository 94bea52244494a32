"""DATABASE_SSLMODE really reaches asyncpg.

The test server listens on a unix socket and speaks no TLS; a TCP relay in front of it lets
asyncpg ask for TLS (it never does over a socket): with `require` the server's refusal must
stop the connection, with `disable` it connects in clear.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from wijkbus import db
from wijkbus.settings import ServiceSettings


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


def server_socket(query: str) -> Path:
    """The server's unix socket in the directory the DSN's `host` names."""
    (path,) = (
        p for p in Path(parse_qs(query)["host"][0]).glob(".s.PGSQL.*") if p.suffix != ".lock"
    )
    return path


@asynccontextmanager
async def tcp_url(socket_url: str) -> AsyncIterator[str]:
    """The same database over TCP on a loopback port, relayed to the server's unix socket."""
    parts = urlsplit(socket_url)
    socket_path = server_socket(parts.query)

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(str(socket_path))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"postgresql://{parts.username}@127.0.0.1:{port}{parts.path}"
    finally:
        server.close()


async def test_sslmode_require_is_honoured_by_asyncpg(fresh_database: str) -> None:
    async with tcp_url(fresh_database) as url:
        settings = ServiceSettings(database_url=url, database_tls={"sslmode": "require"})
        assert settings.database_url.endswith("?sslmode=require")
        with pytest.raises(ConnectionError, match="rejected SSL"):
            await asyncpg.connect(settings.database_url, timeout=5)


async def test_sslmode_disable_connects_in_clear(fresh_database: str) -> None:
    async with tcp_url(fresh_database) as url:
        settings = ServiceSettings(database_url=url, database_tls={"sslmode": "disable"})
        pool = await db.create_pool(settings.database_url, "public", max_size=1)
        try:
            query = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
            assert await pool.fetchval(query) is False
        finally:
            await pool.close()
