"""A partner's signal through all four services, over Kafka and over HTTP (issue 2's thin slice)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from contracts import topics
from contracts.events import ROUTING_ASSIGNED_TYPE
from contracts.signals import Location, street_key
from tests.e2e.conftest import Receiver
from tests.support import consume_json, encode, eventually, produce, signal_event, unique
from tools.devstack import DEMO_PARTNERS, ServiceProcesses
from wijkbus.partners import sign

CORP = "woonstichting-noord"
SOURCE = {p["id"]: p["source"] for p in DEMO_PARTNERS}
CE = {"Content-Type": "application/cloudevents+json"}


def operator(stack: ServiceProcesses) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.creds.operator_token}"}


def partner_key(stack: ServiceProcesses, partner: str = CORP) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.creds.api_keys[partner]}"}


async def subscribe(stack: ServiceProcesses, receiver: Receiver, **filters: str) -> dict[str, Any]:
    """Register the receiver for routing assignments through notify's API."""
    async with httpx.AsyncClient(base_url=stack.url("notify"), timeout=30) as http:
        response = await http.post(
            "/api/v1/subscriptions",
            headers=operator(stack),
            json={
                "channel": "webhook",
                "callback_url": receiver.url,
                "authorization": "Bearer receiver-token",
                "types": [ROUTING_ASSIGNED_TYPE],
                "filters": filters,
            },
        )
    assert response.status_code == 201, response.text
    return response.json()


async def street_count(stack: ServiceProcesses, key: str) -> int:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT coalesce(sum(count), 0) FROM routing.street_counts WHERE street_key = $1",
                key,
            )
        )
    finally:
        await conn.close()


async def send_kafka(stack: ServiceProcesses, event: dict[str, Any], partner: str = CORP) -> None:
    body = encode(event)
    secret = stack.creds.signing_secrets[partner].encode()
    await produce(
        stack.bootstrap,
        topics.partner_events(partner),
        body,
        headers=[
            ("wijkbus-signature", sign(secret, body).encode()),
            ("content-type", b"application/cloudevents+json"),
        ],
    )


async def receipts(stack: ServiceProcesses, event_id: str, count: int) -> list[dict[str, Any]]:
    async def found() -> list[dict[str, Any]] | None:
        records = await consume_json(
            stack.bootstrap, topics.partner_receipts(CORP), count=10**6, timeout=2
        )
        mine = [r for r in records if r["data"].get("event_id") == event_id]
        return mine if len(mine) >= count else None

    return await eventually(found, what=f"{count} receipts for {event_id}")


def a_street() -> tuple[str, str]:
    """A street of this test's own, and its street key."""
    street = f"Teststraat {unique('s')}"
    return street, street_key(Location(street=street, city="Groningen"))


async def test_signal_over_kafka_reaches_routing_and_the_webhook(
    stack: ServiceProcesses, receiver: Receiver
) -> None:
    street, key = a_street()
    await subscribe(stack, receiver, street_key=key)
    event = signal_event(SOURCE[CORP], street=street)
    await send_kafka(stack, event)
    [receipt] = await receipts(stack, event["id"], 1)
    assert receipt["type"] == "nl.wijkaanpak.ontvangst.geaccepteerd"
    signal_id = receipt["data"]["signal_id"]
    hooks = await eventually(
        lambda: _async(receiver.events(ROUTING_ASSIGNED_TYPE)), what="the routing.assigned webhook"
    )
    assert hooks[0]["data"]["signal_id"] == signal_id
    assert await street_count(stack, key) == 1


async def test_signal_over_http_gets_the_same_treatment(
    stack: ServiceProcesses, receiver: Receiver
) -> None:
    street, key = a_street()
    await subscribe(stack, receiver, street_key=key)
    async with httpx.AsyncClient(base_url=stack.url("intake"), timeout=30) as http:
        response = await http.post(
            "/api/v1/events",
            content=encode(signal_event(SOURCE[CORP], street=street)),
            headers={**CE, **partner_key(stack)},
        )
    assert response.status_code == 202, response.text
    signal_id = response.json()["signal_id"]
    hooks = await eventually(
        lambda: _async(receiver.events(ROUTING_ASSIGNED_TYPE)), what="the routing.assigned webhook"
    )
    assert [h["data"]["signal_id"] for h in hooks] == [signal_id]
    assert await street_count(stack, key) == 1


async def test_same_event_three_times_one_signal_one_count_one_webhook(
    stack: ServiceProcesses, receiver: Receiver
) -> None:
    street, key = a_street()
    await subscribe(stack, receiver, street_key=key)
    event = signal_event(SOURCE[CORP], street=street)
    for _ in range(3):
        await send_kafka(stack, event)
    kinds = sorted(r["type"].rsplit(".", 1)[1] for r in await receipts(stack, event["id"], 3))
    assert kinds == ["duplicaat", "duplicaat", "geaccepteerd"]
    await eventually(lambda: _async(receiver.events(ROUTING_ASSIGNED_TYPE)), what="a webhook")
    # Give a wrongly duplicated webhook or count the time to show up before checking there is none.
    await eventually(lambda: _outbox_drained(stack), what="every outbox published")
    assert len(receiver.events(ROUTING_ASSIGNED_TYPE)) == 1
    assert await street_count(stack, key) == 1


async def test_refused_events_never_reach_routing(stack: ServiceProcesses) -> None:
    street, key = a_street()
    bad_category = signal_event(SOURCE[CORP], street=street, categorie="ondermijning")
    bad_body = signal_event(SOURCE[CORP], street=street)
    bad_body["data"]["location"]["postcode"] = "nope"
    for event in (bad_category, bad_body):
        await send_kafka(stack, event)
    for event in (bad_category, bad_body):
        [receipt] = await receipts(stack, event["id"], 1)
        assert receipt["type"] == "nl.wijkaanpak.ontvangst.geweigerd"
        assert receipt["data"]["errors"]
    await eventually(lambda: _outbox_drained(stack), what="every outbox published")
    assert await street_count(stack, key) == 0


async def test_dashboards_need_a_login_and_show_dutch_pages(stack: ServiceProcesses) -> None:
    for name in ("intake", "routing", "budget", "notify"):
        async with httpx.AsyncClient(base_url=stack.url(name), timeout=30) as http:
            anonymous = await http.get("/dashboard")
            assert anonymous.status_code == 303
            assert anonymous.headers["location"].startswith("/login")
            login = await http.post(
                "/login", data={"token": stack.creds.operator_token, "next": "/dashboard"}
            )
            assert login.status_code == 303
            page = await http.get("/dashboard")
            assert page.status_code == 200, f"{name}: {page.text[:300]}"
            assert '<html lang="nl">' in page.text
            for path in (
                "/healthz",
                "/readyz",
                "/metrics",
                "/api/v1/openapi.json",
                "/docs/asyncapi",
            ):
                assert (await http.get(path)).status_code == 200, f"{name}{path}"


async def _outbox_drained(stack: ServiceProcesses) -> bool:
    conn = await asyncpg.connect(stack.database_url)
    try:
        backlog = 0
        for schema in ("intake", "routing", "notify"):
            backlog += await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox_backlog")
        pending = await conn.fetchval(
            "SELECT count(*) FROM notify.deliveries WHERE status = 'pending'"
        )
        return backlog == 0 and pending == 0
    finally:
        await conn.close()


async def _async(value: Any) -> Any:
    return value


async def _cli(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tools",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_partner_cli_sends_and_simulates_against_the_running_stack(
    stack: ServiceProcesses, tmp_path: Path
) -> None:
    stack_file = tmp_path / "stack.json"
    stack_file.write_text(json.dumps(stack.describe()))
    street, _ = a_street()
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(signal_event(SOURCE[CORP], street=street)))
    code, out = await _cli(
        "partner", "send", "--as", CORP, "--stack", str(stack_file), str(event_file)
    )
    assert code == 0, out
    assert "nl.wijkaanpak.ontvangst.geaccepteerd" in out

    hoogte = street_key(Location(street="Asingastraat", city="Groningen"))
    before = await street_count(stack, hoogte)
    code, out = await _cli(
        "partner",
        "simulate",
        "--scenario",
        "de-hoogte",
        "--count",
        "30",
        "--rate",
        "0/s",
        "--seed",
        str(random.randrange(10**6)),
        "--stack",
        str(stack_file),
    )
    assert code == 0, out

    async def counted() -> bool:
        return await street_count(stack, hoogte) == before + 30

    await eventually(counted, what="30 simulated overlast signals counted in De Hoogte")
