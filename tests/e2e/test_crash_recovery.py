"""SIGKILL routing in the middle of 2,000 signals over 50 streets: every count stays exact."""

from __future__ import annotations

import random
import signal
from collections import Counter

import asyncpg
import httpx

from contracts.signals import Location, street_key
from tests.support import encode, eventually, signal_event, unique
from tools.devstack import DEMO_PARTNERS, ServiceProcesses

CORP = "woonstichting-noord"
SOURCE = {p["id"]: p["source"] for p in DEMO_PARTNERS}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


async def _counts(stack: ServiceProcesses, city: str) -> Counter[str]:
    conn = await asyncpg.connect(stack.database_url)
    try:
        rows = await conn.fetch(
            "SELECT street_key, sum(count) AS n FROM routing.street_counts"
            " WHERE street_key LIKE $1 GROUP BY street_key",
            f"naam:{city.lower()}:%",
        )
        return Counter({r["street_key"]: int(r["n"]) for r in rows})
    finally:
        await conn.close()


async def test_killing_routing_mid_stream_loses_and_doubles_nothing(
    stack: ServiceProcesses,
) -> None:
    city = unique("stad").replace("-", "")
    streets = [f"Straat {i}" for i in range(50)]
    rng = random.Random(20261122)
    events = [
        signal_event(
            SOURCE[CORP],
            street=rng.choice(streets),
            city=city,
            categorie=rng.choice(["overlast", "vernieling", "vervuiling"]),
        )
        for _ in range(2000)
    ]
    expected = Counter(
        street_key(Location(street=e["data"]["location"]["street"], city=city)) for e in events
    )
    headers = {**BATCH, "Authorization": f"Bearer {stack.creds.api_keys[CORP]}"}
    async with httpx.AsyncClient(base_url=stack.url("intake"), timeout=60) as http:
        for start in range(0, 2000, 500):
            response = await http.post(
                "/api/v1/events", headers=headers, content=encode(events[start : start + 500])
            )
            assert response.status_code == 202
            assert {r["status"] for r in response.json()} == {"accepted"}
            if start == 500:
                # Kill routing once it is part-way through what was sent so far.
                async def busy() -> bool:
                    return 0 < sum((await _counts(stack, city)).values()) < 2000

                await eventually(busy, interval=0.05, what="routing part-way through the stream")
                stack.kill("routing", signal.SIGKILL)
    killed_at = sum((await _counts(stack, city)).values())
    assert killed_at < 2000, "routing finished before it was killed; the test proved nothing"
    stack.start("routing")
    stack.wait_ready(("routing",))

    async def complete() -> Counter[str] | None:
        counts = await _counts(stack, city)
        return counts if sum(counts.values()) >= 2000 else None

    await eventually(complete, timeout=180, what="all 2,000 signals counted")
    assert await _counts(stack, city) == expected
