"""SIGKILL routing, or intake, in the middle of 2,000 signals over 50 streets: every signal is
accepted once, every count stays exact, and intake's hash chain holds."""

from __future__ import annotations

import asyncio
import json
import random
import re
import signal
from collections import Counter
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from contracts import topics
from contracts.receipts import RECEIPT_ACCEPTED
from contracts.signals import Location, street_key
from tests.support import encode, eventually, signal_event, unique
from tools.cli import app as wijkbus_cli
from tools.devstack import DEMO_PARTNERS, ServiceProcesses
from wijkbus import replaying
from wijkbus.partners import sign

CORP = "woonstichting-noord"
GEMEENTE = "gemeente-groningen"
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


def _stream(source: str, city: str, seed: int) -> list[dict[str, Any]]:
    """2,000 signals over 50 streets of `city`."""
    streets = [f"Straat {i}" for i in range(50)]
    rng = random.Random(seed)
    return [
        signal_event(
            source,
            street=rng.choice(streets),
            city=city,
            categorie=rng.choice(["overlast", "vernieling", "vervuiling"]),
        )
        for _ in range(2000)
    ]


def _per_street(events: list[dict[str, Any]], city: str) -> Counter[str]:
    return Counter(
        street_key(Location(street=e["data"]["location"]["street"], city=city)) for e in events
    )


async def test_killing_routing_mid_stream_loses_and_doubles_nothing(
    stack: ServiceProcesses,
) -> None:
    city = unique("stad").replace("-", "")
    events = _stream(SOURCE[CORP], city, seed=20261122)
    expected = _per_street(events, city)
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


async def _read(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every record of `topic` from offset 0 to its end now, as JSON."""
    found: list[dict[str, Any]] = []
    async for batch in replaying.batches(bootstrap, [topic]):
        found += [json.loads(d.value) for d in batch]
    return found


async def _send_signed(stack: ServiceProcesses, partner: str, bodies: list[bytes]) -> None:
    """Publish on the partner's topic, each record signed as `wijkbus partner` does."""
    secret = stack.creds.signing_secrets[partner].encode()
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.bootstrap, enable_idempotence=False, linger_ms=5
    )
    await producer.start()
    try:
        sent = [
            await producer.send(
                topics.partner_events(partner),
                body,
                headers=[
                    ("wijkbus-signature", sign(secret, body).encode()),
                    ("content-type", b"application/cloudevents+json"),
                ],
            )
            for body in bodies
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _fetch(stack: ServiceProcesses, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def _stored(stack: ServiceProcesses, source: str) -> int:
    rows = await _fetch(stack, "SELECT count(*) FROM intake.signals WHERE source = $1", source)
    return int(rows[0][0])


async def test_killing_intake_mid_stream_accepts_each_signal_once(
    stack: ServiceProcesses,
) -> None:
    city = unique("stad").replace("-", "")
    source = SOURCE[GEMEENTE]
    events = _stream(source, city, seed=20261201)
    ids = {e["id"] for e in events}
    await _send_signed(stack, GEMEENTE, [encode(e) for e in events])

    async def busy() -> bool:
        return await _stored(stack, source) > 0

    await eventually(busy, interval=0.05, what="intake part-way through the stream")
    stack.kill("intake", signal.SIGKILL)
    killed_at = await _stored(stack, source)
    assert killed_at < 2000, "intake finished before it was killed; the test proved nothing"
    stack.start("intake")
    stack.wait_ready(("intake",))

    async def receipts() -> list[dict[str, Any]] | None:
        found = [
            r
            for r in await _read(stack.bootstrap, topics.partner_receipts(GEMEENTE))
            if r["data"]["event_id"] in ids
        ]
        return found if {r["data"]["event_id"] for r in found} == ids else None

    answered = await eventually(receipts, timeout=120, what="a receipt for every event")
    # The relay may publish a receipt again after the kill (the same record, at least once);
    # a second answer to one event would be a receipt of its own, with another id.
    by_event: dict[str, set[tuple[str, str]]] = {}
    for r in answered:
        by_event.setdefault(r["data"]["event_id"], set()).add((r["id"], r["type"]))
    assert all(len(answer) == 1 for answer in by_event.values()), "an event answered twice"
    assert {t for answer in by_event.values() for _, t in answer} == {RECEIPT_ACCEPTED}

    stored = await _fetch(
        stack, "SELECT event_id, signal_id::text FROM intake.signals WHERE source = $1", source
    )
    assert len(stored) == 2000 and {r["event_id"] for r in stored} == ids
    signal_ids = {r["signal_id"] for r in stored}
    assert signal_ids == {r["data"]["signal_id"] for r in answered}
    outcomes = await _fetch(
        stack,
        "SELECT status, count(*) FROM intake.outcomes WHERE partner_id = $1 AND channel = 'kafka'"
        " GROUP BY status",
        GEMEENTE,
    )
    assert {r[0]: r[1] for r in outcomes} == {"accepted": 2000}

    published = [
        r
        for r in await _read(stack.bootstrap, topics.SIGNALS_ACCEPTED)
        if r["data"]["street_key"].startswith(f"naam:{city}:")
    ]
    assert {r["id"] for r in published} == signal_ids, "a signal published under two ids"

    async def complete() -> Counter[str] | None:
        counts = await _counts(stack, city)
        return counts if sum(counts.values()) >= 2000 else None

    await eventually(complete, timeout=120, what="routing counted all 2,000 signals")
    assert await _counts(stack, city) == _per_street(events, city)

    env = {"DATABASE_URL": stack.database_url, "COLUMNS": "200"}

    async def sealed() -> str | None:
        result = await asyncio.to_thread(
            CliRunner().invoke, wijkbus_cli, ["audit", "verify"], env=env
        )
        assert result.exit_code == 0, result.output
        return result.output if "not sealed" not in result.output else None

    verified = await eventually(sealed, what="intake's log sealed")
    intact = re.search(r"intact: (\d+) sealed rows", verified)
    assert intact is not None, verified
    # The session's broker is shared with other modules' stacks: count what this stack's intake
    # published, the events about signals its database holds.
    ours = {
        r["signal_id"] for r in await _fetch(stack, "SELECT signal_id::text FROM intake.signals")
    }
    logged = {
        r["id"]
        for topic in (topics.SIGNALS_ACCEPTED, topics.SIGNALS_FEEDBACK)
        for r in await _read(stack.bootstrap, topic)
        if r.get("subject") in ours
    }
    assert int(intact.group(1)) == len(logged), "intake's log holds other rows than it published"
