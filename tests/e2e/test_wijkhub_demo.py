"""`make run`'s wijkhub demo against the whole stack: a De Hoogte street crosses its wijkhub
threshold through intake's partner API, so the routing dashboard advises a hub; a restart
sends nothing again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from tools import wijkhub_demo
from tools.devstack import DEMO_PARTNERS, ServiceProcesses

PARTNER = next(p for p in DEMO_PARTNERS if p["id"] == wijkhub_demo.PARTNER)


def test_the_demo_s_signals_are_fixed_and_fall_in_the_threshold_window() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    events = wijkhub_demo.events(PARTNER["source"], now)
    assert [e["id"] for e in events] == [e["id"] for e in wijkhub_demo.events("x", now)]
    hub = [e for e in events if e["data"]["location"]["street"] == "Asingastraat"]
    assert len(hub) == 8 and {e["type"] for e in hub} == {"nl.wijkaanpak.signaal.overlast"}
    for event in events:
        assert now - timedelta(days=21) < datetime.fromisoformat(event["time"]) < now


async def demo_signals(stack: ServiceProcesses) -> int:
    conn = await asyncpg.connect(stack.database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM intake.signals WHERE event_id LIKE 'WIJKHUB-DEMO-%'"
        )
        return count
    finally:
        await conn.close()


def test_the_demo_street_gets_wijkhub_advice_once(stack: ServiceProcesses) -> None:
    key = {"Authorization": f"Bearer {stack.creds.api_keys[PARTNER['id']]}"}
    operator = {"Authorization": f"Bearer {stack.creds.operator_token}"}
    with (
        httpx.Client(base_url=stack.url("intake"), headers=key, timeout=30) as intake,
        httpx.Client(base_url=stack.url("routing"), headers=operator, timeout=30) as routing,
    ):
        assert wijkhub_demo.seed(intake, routing, PARTNER["source"], within_s=60) == "Asingastraat"
        sent = asyncio.run(demo_signals(stack))
        assert sent in (0, len(wijkhub_demo.SIGNALS))  # 0: the broker's history advised it
        assert wijkhub_demo.seed(intake, routing, PARTNER["source"]) == "Asingastraat"
        assert asyncio.run(demo_signals(stack)) == sent  # the second start sent nothing
        page = routing.get("/dashboard")
    assert page.status_code == 200
    assert "Asingastraat, Groningen" in page.text and "Wijkhub openen" in page.text
    assert '<span class="buurt" title="BU00140107">De Hoogte</span>' in page.text  # named
