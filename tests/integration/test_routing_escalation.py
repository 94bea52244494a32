"""Durable escalation timers: an unacknowledged signal moves along its chain by a controlled
clock, acknowledgement stops it, and pending timers fire exactly once across a restart and with
two instances running at the same time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.routing.app import RoutingSettings, build
from tests.integration.test_routing_flow import START, Clock, Router, routing_groups
from tests.support import demo_registry, eventually, running_app, unique

RULES = """\
version: "escalatie-1"
municipality: Groningen
gebiedsmanager: gemeente-groningen
rules:
  - id: overlast-de-hoogte
    match: {categorie: [overlast], buurt: [BU00140107]}
    responder: politie-groningen
    acknowledge_within_hours: 8
    escalation:
      - {partner: wij-groningen, acknowledge_within_hours: 24}
      - {partner: woonstichting-noord, acknowledge_within_hours: 4}
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 48
"""

AppFactory = Callable[[float], FastAPI]


@pytest.fixture
async def setup(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[tuple[Router, AppFactory]]:
    """A router of the test's own and a factory for more instances on the same database."""
    registry, creds = demo_registry()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    clock = Clock()
    group = await routing_groups(kafka_bootstrap)  # shared by this test's instances

    def make(interval_s: float) -> FastAPI:
        settings = RoutingSettings(
            database_url=fresh_database,
            kafka_bootstrap_servers=kafka_bootstrap,
            operator_token=creds.operator_token,
            rules_file=rules,
            escalation_interval_s=interval_s,
            group_prefix=group,
        )
        return build(settings, partners=registry, clock=clock)

    operator = {"Authorization": f"Bearer {creds.operator_token}"}
    async with httpx.AsyncClient(timeout=30) as http:
        router = Router(
            http, operator, fresh_database, kafka_bootstrap, clock, unique("Escalatiestraat")
        )
        yield router, make


async def escalations(router: Router, signal_id: str) -> list[str]:
    """The ids of the routing.escalated events in the outbox for `signal_id`, oldest first."""
    rows = await router.fetch(
        "SELECT value FROM outbox WHERE key = $1 AND value LIKE $2 ORDER BY id",
        signal_id.encode(),
        b"%routing.escalated%",
    )
    return [v.split(b'"id":"')[1].split(b'"')[0].decode() for v in (r["value"] for r in rows)]


async def partner_of(router: Router, signal_id: str, partner: str) -> bool:
    rows = await router.fetch(
        "SELECT 1 FROM assignments WHERE signal_id = $1 AND partner_id = $2", signal_id, partner
    )
    return bool(rows)


async def timers(router: Router) -> dict[str, object]:
    rows = await router.fetch("SELECT signal_id, due_at FROM escalation_timers")
    return {r["signal_id"]: r["due_at"] for r in rows}


async def test_an_unacknowledged_signal_escalates_along_the_chain_to_the_gebiedsmanager(
    setup: tuple[Router, AppFactory],
) -> None:
    router, make = setup
    async with running_app(make(0.1)):
        signal = router.signal("overlast")
        await router.send(signal)
        assigned = await router.assignment(signal.signal_id)
        assert assigned["partner_id"] == "politie-groningen"
        assert await timers(router) == {signal.signal_id: START + timedelta(hours=8)}

        router.clock.now = START + timedelta(hours=8, minutes=1)
        first_due = router.clock.now + timedelta(hours=24)
        await eventually(lambda: partner_of(router, signal.signal_id, "wij-groningen"))
        assert await timers(router) == {signal.signal_id: first_due}

        router.clock.now = first_due + timedelta(minutes=1)
        await eventually(lambda: partner_of(router, signal.signal_id, "woonstichting-noord"))
        router.clock.now += timedelta(hours=5)
        await eventually(lambda: partner_of(router, signal.signal_id, "gemeente-groningen"))
        router.clock.now += timedelta(days=30)
        await asyncio.sleep(0.5)  # a few more rounds of the escalator: nothing left to fire

    assert await timers(router) == {}
    assert await escalations(router, signal.signal_id) == [
        f"escalated-{signal.signal_id}-1",
        f"escalated-{signal.signal_id}-2",
        f"escalated-{signal.signal_id}-3",
    ]
    events = await router.routing_events(signal.signal_id, 4)
    steps = [(e["data"]["from_partner_id"], e["data"]["to_partner_id"]) for e in events[1:]]
    assert steps == [
        ("politie-groningen", "wij-groningen"),
        ("wij-groningen", "woonstichting-noord"),
        ("woonstichting-noord", "gemeente-groningen"),
    ]
    assert events[3]["data"]["acknowledge_by"] is None
    [final] = await router.fetch(
        "SELECT status, rule_id, escalation_step FROM assignments WHERE signal_id = $1",
        signal.signal_id,
    )
    assert (final["status"], final["rule_id"], final["escalation_step"]) == (
        "toegewezen",
        "overlast-de-hoogte",
        3,
    )


async def test_acknowledgement_stops_the_escalation(setup: tuple[Router, AppFactory]) -> None:
    router, make = setup
    app = make(3600)  # the background round runs only at start; the test fires by hand
    async with running_app(app):
        signal = router.signal("overlast")
        await router.send(signal)
        await router.assignment(signal.signal_id)
        await router.feedback(signal.signal_id, "politie-groningen", "opgepakt", START)
        await router.assignment(signal.signal_id, "opgepakt")

        router.clock.now = START + timedelta(days=10)
        assert await app.state.escalator.fire_due() == 0
    assert await timers(router) == {}
    assert await escalations(router, signal.signal_id) == []


async def test_pending_timers_fire_once_across_a_restart_and_two_instances(
    setup: tuple[Router, AppFactory],
) -> None:
    router, make = setup
    signals = [router.signal("overlast") for _ in range(6)]
    async with running_app(make(3600)):
        for signal in signals:
            await router.send(signal)
        for signal in signals:
            await router.assignment(signal.signal_id)
    assert len(await timers(router)) == len(signals)

    # While the service is down every deadline passes; two instances come back at once.
    router.clock.now = START + timedelta(hours=9)
    first, second = make(0.05), make(0.05)
    apps: list[AbstractAsyncContextManager[str]] = [running_app(first), running_app(second)]
    async with apps[0], apps[1]:
        racing = await asyncio.gather(
            first.state.escalator.fire_due(), second.state.escalator.fire_due()
        )
        for signal in signals:
            await eventually(lambda s=signal: partner_of(router, s.signal_id, "wij-groningen"))
        await asyncio.sleep(0.5)  # more rounds on both instances: nothing fires again

    assert sum(racing) <= len(signals)
    for signal in signals:
        assert await escalations(router, signal.signal_id) == [f"escalated-{signal.signal_id}-1"]
    assert set((await timers(router)).values()) == {router.clock.now + timedelta(hours=24)}
