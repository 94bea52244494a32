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


async def _send_then_read(port: int, chunks: list[bytes]) -> bytes:
    """Send all of `chunks`, then read what the server answered: a reset that destroyed the
    answer raises ConnectionResetError."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
            await asyncio.sleep(0.001)
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


async def test_an_oversized_head_gets_431_and_the_client_still_sending_reads_it() -> None:
    port = free_port()
    async with serving(_app(), port, head_timeout_s=DEADLINE_S):
        head = b"GET /ping HTTP/1.1\r\nHost: test\r\n" + b"X-Big: " + b"a" * 300_000
        answer = await _send_then_read(
            port, [head[i : i + 4096] for i in range(0, len(head), 4096)]
        )
    # The server closed while bytes were still arriving; its lingering close keeps the reset
    # that would destroy the answer from happening.
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]


async def test_a_head_under_the_bound_with_many_headers_is_served() -> None:
    port = free_port()
    async with serving(_app(), port, head_timeout_s=DEADLINE_S):
        headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(200))  # ~22 KB
        answer = await _send_then_read(
            port, [b"GET /ping HTTP/1.1\r\nHost: test\r\nConnection: close\r\n" + headers + b"\r\n"]
        )
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
