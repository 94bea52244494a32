"""A client dripping its request head gets 408 and a closed connection once the head deadline
passes; a head that arrives in time is served as always, also on a reused connection."""

from __future__ import annotations

import asyncio
import time

from fastapi import FastAPI

from wijkbus.infra import free_port
from wijkbus.serve import serving

DEADLINE_S = 1.5


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "ok"}

    return app


async def _drip(port: int, head: bytes, every_s: float) -> tuple[bytes, float]:
    """Send `head` a byte at a time; what the server answered and when the connection closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    answer = b""
    try:
        for byte in head:
            writer.write(bytes([byte]))
            await writer.drain()
            try:  # the pause between bytes, listening for the server's answer meanwhile
                answer = await asyncio.wait_for(reader.read(1000), every_s)
            except TimeoutError:
                continue
            break
    finally:
        writer.close()
    return answer, time.monotonic() - started


async def test_a_dripped_head_is_cut_off_with_408() -> None:
    port = free_port()
    async with serving(_app(), port, head_timeout_s=DEADLINE_S):
        head = b"GET /ping HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
        answer, took = await _drip(port, head, 0.05)  # 200+ bytes: over 10 s if it could
    assert answer.startswith(b"HTTP/1.1 408")
    assert took < DEADLINE_S + 3


async def test_silence_after_connecting_is_cut_off_too() -> None:
    port = free_port()
    async with serving(_app(), port, head_timeout_s=DEADLINE_S):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answer = await asyncio.wait_for(reader.read(), DEADLINE_S + 5)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408")


async def test_heads_in_time_are_served_also_on_a_reused_connection() -> None:
    port = free_port()
    async with serving(_app(), port, head_timeout_s=DEADLINE_S):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(2):
                writer.write(b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
                await writer.drain()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                assert head.startswith(b"HTTP/1.1 200")
                await reader.readexactly(13)
                # Idle between requests longer than the head deadline: keep-alive's to judge.
                await asyncio.sleep(DEADLINE_S + 0.5)
        finally:
            writer.close()
