"""A client that keeps an idle connection as long as httpx does (5 s) and then reuses it gets
its answer: the server keeps idle connections longer than that (a burst of votes once died on
a ReadError when both let go at 5 s)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from wijkbus.infra import free_port
from wijkbus.serve import KEEP_ALIVE_S, serving

IDLE_S = 5.5  # past uvicorn's default keep-alive of 5 s


async def test_an_idle_connection_kept_past_five_seconds_is_still_served() -> None:
    assert KEEP_ALIVE_S > IDLE_S
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "ok"}

    port = free_port()
    async with serving(app, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(2):
                writer.write(b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
                await writer.drain()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                assert head.startswith(b"HTTP/1.1 200")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                assert await reader.readexactly(length) == b'{"pong":"ok"}'
                await asyncio.sleep(IDLE_S)
        finally:
            writer.close()
