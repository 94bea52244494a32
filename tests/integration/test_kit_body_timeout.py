"""A client that drips its request body is cut off with 408 once the body timeout is over."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from services.intake.app import IntakeSettings, build
from tests.integration.test_budget_support import running_buurt
from tests.support import demo_registry, running_app, unique

CORP = "woonstichting-noord"
LIMIT_S = 1.0


async def drip(base_url: str, path: str, headers: dict[str, str], size: int = 300) -> bytes:
    """POST a `size`-byte body one byte every 50 ms (15 s for 300) over a raw socket; what the
    server answered before it closed the connection."""
    url = httpx.URL(base_url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = [f"POST {path} HTTP/1.1", f"Host: {url.host}", f"Content-Length: {size}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    await writer.drain()
    answer = bytearray()

    async def read_all() -> None:
        while chunk := await reader.read(65536):
            answer.extend(chunk)

    reading = asyncio.create_task(read_all())
    try:
        for _ in range(size):
            if reading.done():
                break
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.05)
    except ConnectionError:
        pass  # the server closed the connection while we were still sending
    await asyncio.wait_for(reading, 10)
    writer.close()
    return bytes(answer)


@pytest.fixture
async def intake_url(fresh_database: str, kafka_bootstrap: str) -> AsyncIterator[tuple[str, str]]:
    registry, creds = demo_registry()
    settings = IntakeSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=kafka_bootstrap,
        operator_token=creds.operator_token,
        group_prefix=unique("intake"),
        body_timeout_s=LIMIT_S,
    )
    async with running_app(build(settings, partners=registry)) as url:
        yield url, creds.api_keys[CORP]


async def test_a_dripped_event_is_cut_off_with_408(intake_url: tuple[str, str]) -> None:
    url, key = intake_url
    started = time.monotonic()
    answer = await drip(
        url,
        "/api/v1/events",
        {"Authorization": f"Bearer {key}", "Content-Type": "application/cloudevents+json"},
    )
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"application/problem+json" in answer
    assert b"connection: close" in answer.lower()
    assert LIMIT_S <= took < LIMIT_S + 5  # cut off at the limit, not after the 15 s of dripping


async def test_a_dripped_form_body_is_cut_off_too(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with running_buurt(
        fresh_database, kafka_bootstrap, households=1, body_timeout_s=LIMIT_S
    ) as b:
        started = time.monotonic()
        answer = await drip(b.url, "/api/v1/supports", {"Content-Type": "application/json"})
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.monotonic() - started < LIMIT_S + 5
        # A body that arrives in time is read as always.
        fine = await b.http.post("/api/v1/supports", json={"code": "x", "initiative_id": "y"})
        assert fine.status_code in (400, 403, 404), fine.text
