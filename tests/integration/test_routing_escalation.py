"""Durable escalation timers: an unacknowledged signal moves along its chain by a controlled
clock, acknowledgement stops it, and pending timers fire exactly once across a restart and with
two instances running at the same time. A replay applies the escalations live recorded, so an
escalated-then-acknowledged signal rebuilds as it is live (on a broker of the test's own, so the
replay reads only the test's topics)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from contracts.envelope import new_event, to_json_bytes
from contracts.events import SIGNAL_ACCEPTED_TYPE, SignalAccepted
from services.routing import replay
from services.routing.app import RoutingSettings, build
from tests.integration.test_routing_flow import (
    INTAKE,
    PARTNERS,
    START,
    Clock,
    Router,
    routing_groups,
)
from tests.support import demo_registry, eventually, running_app, unique
from wijkbus.infra import EmbeddedBroker

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
  - id: vervuiling-terug  # a chain that comes back to the first responder
    match: {categorie: [vervuiling], buurt: [BU00140107]}
    responder: politie-groningen
    acknowledge_within_hours: 8
    escalation:
      - {partner: wij-groningen, acknowledge_within_hours: 24}
      - {partner: politie-groningen, acknowledge_within_hours: 4}
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


@dataclass
class Alone:
    """A routing service on a broker of the test's own; its escalator fires only by hand."""

    router: Router
    app: FastAPI

    async def send(self, signal: SignalAccepted) -> None:
        """Publish `signal` as intake would at the test's clock (so a replay's clock agrees)."""
        event = new_event(SIGNAL_ACCEPTED_TYPE, INTAKE, signal, id=signal.signal_id,
                          subject=signal.signal_id, time=self.router.clock.now)  # fmt: skip
        await self.router.send_raw(to_json_bytes(event))
        await self.router.assignment(signal.signal_id)

    async def at(self, offset: timedelta) -> int:
        """Move the clock to START + `offset` and fire what is due; how many were due."""
        self.router.clock.now = START + offset
        fired: int = await self.app.state.escalator.fire_due()
        return fired

    async def acknowledge(self, signal_id: str, partner: str) -> None:
        """`partner` takes the signal up now."""
        await self.router.feedback(signal_id, partner, "opgepakt", self.router.clock.now)
        await self.router.assignment(signal_id, "opgepakt")

    async def replay(self) -> tuple[str, list[replay.Difference]]:
        """Rebuild into a new schema once routing's log is on the broker; the differences."""

        async def relayed() -> bool:
            return (await self.router.fetch("SELECT count(*) AS n FROM outbox_backlog"))[0][
                "n"
            ] == 0

        await eventually(relayed, what="routing's outbox relayed to the broker")
        into = f"routing_replay_{uuid.uuid4().hex[:8]}"
        db, bootstrap = self.router.database_url, self.router.bootstrap
        done = await replay.rebuild(
            db, bootstrap, into, partners=tuple(PARTNERS), as_of=self.router.clock.now
        )
        assert done.refused == []
        differences, newer = await replay.compare(db, into)
        assert newer == 0
        return into, differences


@pytest.fixture
async def alone(fresh_database: str, tmp_path: Path) -> AsyncIterator[Alone]:
    registry, creds = demo_registry()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    broker = EmbeddedBroker().start()
    try:
        settings = RoutingSettings(
            database_url=fresh_database,
            kafka_bootstrap_servers=broker.bootstrap,
            operator_token=creds.operator_token,
            rules_file=rules,
            escalation_interval_s=3600,  # the round at start finds nothing due
        )
        app = build(settings, partners=registry, clock=(clock := Clock()))
        operator = {"Authorization": f"Bearer {creds.operator_token}"}
        async with running_app(app), httpx.AsyncClient(timeout=30) as http:
            street = unique("Herhaalstraat")
            router = Router(http, operator, fresh_database, broker.bootstrap, clock, street)
            yield Alone(router, app)
    finally:
        broker.stop()


async def state(router: Router, schema: str, signal_ids: list[str]) -> list[tuple[object, ...]]:
    """Each signal's partner, step, status and deadline in `schema`, and its pending timer."""
    rows = await router.fetch(
        f"SELECT a.signal_id, a.partner_id, a.escalation_step, a.status, t.due_at"
        f" FROM {schema}.assignments a LEFT JOIN {schema}.escalation_timers t USING (signal_id)"
        " WHERE a.signal_id = ANY($1::text[]) ORDER BY array_position($1::text[], a.signal_id)",
        signal_ids,
    )
    return [tuple(r) for r in rows]


async def test_a_replay_applies_recorded_escalations_so_acknowledged_chains_equal_live(
    alone: Alone,
) -> None:
    router, h = alone.router, timedelta(hours=1)
    one, two, gm = (router.signal("overlast") for _ in range(3))  # politie 8h, wij 24h, ...
    exhausted = router.signal("vernieling")  # the gebiedsmanager itself, 48h: nobody after it
    for signal in (one, two, gm, exhausted):
        await alone.send(signal)

    assert await alone.at(8 * h + timedelta(minutes=1)) == 3  # one, two, gm: to wij-groningen
    await alone.acknowledge(one.signal_id, "wij-groningen")
    # The partner it was handed away from answers late: ignored, live and in the replay.
    await router.feedback(two.signal_id, "politie-groningen", "opgepakt", router.clock.now)
    assert await alone.at(32 * h + timedelta(minutes=2)) == 2  # two, gm: to woonstichting-noord
    await alone.acknowledge(two.signal_id, "woonstichting-noord")
    assert await alone.at(36 * h + timedelta(minutes=3)) == 1  # gm: to the gebiedsmanager
    assert await alone.at(49 * h) == 1  # exhausted: nobody left, its timer dropped, no event
    assert await escalations(router, exhausted.signal_id) == []

    ids = [s.signal_id for s in (one, two, gm, exhausted)]
    live = await state(router, "routing", ids)
    assert [row[1:4] for row in live] == [
        ("wij-groningen", 1, "opgepakt"),
        ("woonstichting-noord", 2, "opgepakt"),
        ("gemeente-groningen", 3, "toegewezen"),
        ("gemeente-groningen", 0, "toegewezen"),
    ]
    assert [row[4] for row in live] == [None] * 4  # no timer left: taken up, or nothing to fire

    into, differences = await alone.replay()
    assert differences == []
    assert await state(router, into, ids) == live


async def feedback_handled(router: Router, count: int) -> bool:
    """Whether live routing handled `count` feedback events (accepted or ignored)."""
    rows = await router.fetch("SELECT count(*) AS n FROM inbox WHERE consumer = 'feedback'")
    return bool(rows[0]["n"] == count)


async def test_a_replay_ignores_feedback_live_ignored_when_the_chain_comes_back_to_its_sender(
    alone: Alone,
) -> None:
    router, h = alone.router, timedelta(hours=1)
    early, back = router.signal("vervuiling"), router.signal("vervuiling")  # politie, wij, politie
    for signal in (early, back):
        await alone.send(signal)
    assert await alone.at(8 * h + timedelta(minutes=1)) == 2  # both to wij-groningen
    # The police take `early` up in the moment before intake heard it was handed away from
    # them: live judges it against wij-groningen's assignment and ignores it.
    await router.feedback(early.signal_id, "politie-groningen", "opgepakt", router.clock.now)
    await eventually(lambda: feedback_handled(router, 1), what="live routing took the feedback")
    assert await alone.at(32 * h + timedelta(minutes=2)) == 2  # both back to the police
    await alone.acknowledge(back.signal_id, "politie-groningen")  # now theirs: accepted

    ids = [early.signal_id, back.signal_id]
    live = await state(router, "routing", ids)
    assert [row[1:4] for row in live] == [
        ("politie-groningen", 2, "toegewezen"),
        ("politie-groningen", 2, "opgepakt"),
    ]
    into, differences = await alone.replay()
    assert differences == []
    assert await state(router, into, ids) == live


async def test_a_replay_reports_an_escalation_live_has_and_its_log_lacks(alone: Alone) -> None:
    router = alone.router
    signal = router.signal("overlast")
    await alone.send(signal)
    assert await alone.at(timedelta(hours=9)) == 1
    await alone.acknowledge(signal.signal_id, "wij-groningen")
    # As if the escalation had not been recorded: the live row says what a replay without the
    # event would rebuild (the first responder, step 0).
    await router.fetch(
        "UPDATE assignments SET partner_id = 'politie-groningen', escalation_step = 0"
        " WHERE signal_id = $1",
        signal.signal_id,
    )

    _, differences = await alone.replay()
    assert [(d.table, d.key) for d in differences] == [("assignments", signal.signal_id)]
    [found] = differences
    assert found.live != found.replay
    assert isinstance(found.replay, tuple) and found.replay[-2:] == ("wij-groningen", 1)
