"""All four services over one mixed stream, on a broker of the test's own: signals, feedback,
escalations, buurtbudget pledges and votes, and webhook deliveries. Then every service's replay
equals its live state; then the broker loses everything, intake republishes, and every service
ends where it was: nothing counted twice, no webhook sent again under a new id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.budget.app import BudgetSettings
from services.budget.app import build as build_budget
from services.intake.app import IntakeSettings
from services.intake.app import build as build_intake
from services.notify.app import build as build_notify
from services.routing.app import RoutingSettings
from services.routing.app import build as build_routing
from tests.integration import test_budget_support as budget_support
from tests.integration.test_budget_ballots import open_round, vote
from tests.integration.test_intake_audit import CE, SOURCE, committed, fetchval, wijkbus
from tests.integration.test_intake_gateway import _feedback
from tests.integration.test_notify_flow import TOKEN, Receiver, receiver, settings_for
from tests.integration.test_routing_flow import RULES, START, Clock
from tests.support import demo_registry, encode, eventually, running_app, signal_event, unique
from tools.devstack import DemoCredentials, write_partner_registry
from wijkbus.infra import EmbeddedBroker
from wijkbus.partners import PartnerRegistry
from wijkbus.replaying import end_offsets

__all__ = ["receiver"]  # the receiver fixture, used here

CORP, POLICE, GEMEENTE = "woonstichting-noord", "politie-groningen", "gemeente-groningen"
ROUTING_TYPES = "nl.wijkaanpak.routing."


@dataclass
class Stack:
    """The four services running, and how the test talks to them."""

    intake: httpx.AsyncClient
    notify: httpx.AsyncClient
    budget: budget_support.Buurt
    clock: Clock


@asynccontextmanager
async def services(
    broker: EmbeddedBroker,
    database_url: str,
    registry: PartnerRegistry,
    creds: DemoCredentials,
    rules: Path,
    prepared: tuple[str, list[str], list[str]],
    clock: Clock,
) -> AsyncIterator[Stack]:
    """Intake, routing, notify and budget on `broker`; the same consumer groups every time."""
    common: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": broker.bootstrap,
        "operator_token": creds.operator_token,
    }
    async with AsyncExitStack() as stack:

        async def serve(app: Any, **client: Any) -> httpx.AsyncClient:
            url = await stack.enter_async_context(running_app(app))
            return await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, timeout=30, **client)
            )

        intake = await serve(
            build_intake(IntakeSettings(**common, seal_interval_s=0.1), partners=registry)
        )
        routing = RoutingSettings(**common, rules_file=rules, escalation_interval_s=0.1)
        await serve(build_routing(routing, partners=registry, clock=clock))
        notify = await serve(
            build_notify(settings_for(database_url, broker.bootstrap, creds), partners=registry)
        )
        budget_clock = budget_support.Clock()
        budget_settings = BudgetSettings(
            **{**common, "operator_token": budget_support.TOKEN}, relay_poll_interval_s=0.2
        )
        budget_http = await serve(build_budget(budget_settings, clock=budget_clock))
        buurt_code, codes, others = prepared
        buurt = budget_support.Buurt(
            str(budget_http.base_url), budget_http, database_url, codes, buurt_code, budget_clock,
            others,
        )  # fmt: skip
        yield Stack(intake, notify, buurt, clock)


async def rows(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def post(stack: Stack, creds: DemoCredentials, partner: str, event: dict[str, Any]) -> Any:
    auth = {"Authorization": f"Bearer {creds.api_keys[partner]}"}
    answer = await stack.intake.post(
        "/api/v1/events", content=encode(event), headers={**CE, **auth}
    )
    assert answer.status_code == 202, answer.text
    return answer.json()


async def assigned_in_intake(url: str, signal_id: str, partner: str) -> bool:
    found = await fetchval(
        url, "SELECT assigned_partner_id FROM intake.signals WHERE signal_id = $1::uuid", signal_id
    )
    return bool(found == partner)


async def routing_status(url: str, signal_id: str, status: str) -> bool:
    found = await fetchval(
        url, "SELECT status FROM routing.assignments WHERE signal_id = $1", signal_id
    )
    return bool(found == status)


async def quiet(url: str, receiver: Receiver, hooks: list[str]) -> bool:
    """Every outbox relayed, and every routing and budget event delivered to its hook once."""
    unsent = sum(
        [
            await fetchval(url, f"SELECT count(*) FROM {schema}.outbox_backlog")
            for schema in ("intake", "routing", "budget")
        ]
    )
    routing_events = await fetchval(
        url,
        "SELECT count(*) FROM routing.outbox WHERE value LIKE $1",
        f'%"{ROUTING_TYPES}%'.encode(),
    )
    budget_events = await fetchval(url, "SELECT count(*) FROM budget.outbox")
    delivered = [len(receiver.events(hook)) for hook in hooks]
    return unsent == 0 and delivered == [routing_events, budget_events]


async def test_every_replay_equals_live_and_republishing_after_broker_loss_converges(
    fresh_database: str, tmp_path: Path, receiver: Receiver
) -> None:
    registry, creds = demo_registry()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    partners_file = write_partner_registry(tmp_path / "partners.yaml", creds)
    prepared = await budget_support.prepare(fresh_database, 5, "pledge")
    street = unique("Mengstraat")
    clock = Clock()
    routing_hook, routing_url = receiver.hook()
    budget_hook, budget_url = receiver.hook()

    broker = EmbeddedBroker().start()
    env = {
        "DATABASE_URL": fresh_database,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "WIJKBUS_PARTNERS": str(partners_file),
    }
    try:
        async with services(
            broker, fresh_database, registry, creds, rules, prepared, clock
        ) as stack:
            operator = {"Authorization": f"Bearer {creds.operator_token}"}
            for url, types, filters in (
                # By street: escalations, acknowledgements and resolutions say where, too.
                (routing_url, [ROUTING_TYPES], {"street_key": f"naam:groningen:{street.lower()}"}),
                (budget_url, ["nl.wijkaanpak.budget."], {"buurt_code": prepared[0]}),
            ):
                subscribed = await stack.notify.post(
                    "/api/v1/subscriptions",
                    json={"channel": "webhook", "callback_url": url, "authorization": TOKEN,
                          "types": types, "filters": filters},
                    headers=operator,
                )  # fmt: skip
                assert subscribed.status_code == 201, subscribed.text

            # Signals: four overlast in De Hoogte (the police, then the municipality within
            # 8 hours), two vernieling (the municipality by default).
            signals = [
                (await post(stack, creds, CORP, signal_event(SOURCE[CORP], street=street,
                                                             categorie=categorie)))["signal_id"]
                for categorie in ["overlast"] * 4 + ["vernieling"] * 2
            ]  # fmt: skip
            responders = [POLICE] * 4 + [GEMEENTE] * 2
            for signal_id, partner in zip(signals, responders, strict=True):
                await eventually(lambda s=signal_id, p=partner: assigned_in_intake(
                    fresh_database, s, p))  # fmt: skip

            # Feedback: the police take up and resolve one; the municipality takes up another.
            await post(stack, creds, POLICE, _feedback(POLICE, signals[0]))
            await post(stack, creds, POLICE, _feedback(POLICE, signals[0], "afgehandeld"))
            await post(stack, creds, GEMEENTE, _feedback(GEMEENTE, signals[4]))

            for signal_id, status in ((signals[0], "afgehandeld"), (signals[4], "opgepakt")):
                await eventually(lambda s=signal_id, st=status: routing_status(
                    fresh_database, s, st))  # fmt: skip

            # Nine hours on, nobody took up the other three overlast: they escalate.
            clock.now = START + timedelta(hours=9)
            for signal_id in signals[1:4]:
                await eventually(lambda s=signal_id: assigned_in_intake(
                    fresh_database, s, GEMEENTE))  # fmt: skip

            # The buurtbudget: one initiative funded by three pledges, one still open.
            bankje = await stack.budget.propose(2500)
            boom = await stack.budget.propose(5000, "Een boom")
            for code in stack.budget.codes[:3]:
                assert (await stack.budget.support(code, bankje)).status_code == 201
            assert (await stack.budget.support(stack.budget.codes[3], boom)).status_code == 201
            # And a participatory-budgeting round with three ballots.
            await open_round(stack.budget, "groen-mix")
            choices = ["bomen", "bankjes", "bomen"]
            for code, project in zip(stack.budget.codes[:3], choices, strict=True):
                assert await vote(stack.budget, code, "groen-mix", project) == 201

            hooks = [routing_hook, budget_hook]
            await eventually(lambda: quiet(fresh_database, receiver, hooks), what="all delivered")
            delivered_before = {h: [hit.event["id"] for hit in receiver.events(h)] for h in hooks}

            for service in ("intake", "routing", "budget", "notify"):
                code, output = await wijkbus(
                    "replay", service, "--into", f"replay_{service}", env=env
                )
                assert code == 0, output
                assert (
                    f"no differences: the live projection equals the replay in replay_{service}"
                    in output
                ), output

            routing_before = await rows(
                fresh_database,
                "SELECT signal_id, partner_id, status, escalation_step FROM routing.assignments"
                " ORDER BY signal_id",
            )
            counts_before = await rows(fresh_database, "SELECT * FROM routing.street_counts")
            outbox_before = await fetchval(fresh_database, "SELECT count(*) FROM routing.outbox")

        broker.stop()  # the in-memory broker: every topic and committed offset is gone
        broker = EmbeddedBroker(port=broker.port).start()
        async with services(broker, fresh_database, registry, creds, rules, prepared, clock):
            code, output = await wijkbus("replay", "--republish", env=env)
            assert code == 0, output
            # Every service found the new broker empty at startup and sent its log again; the
            # command sends every log once more, and nothing may count twice.
            for schema in ("intake", "routing", "budget", "notify"):
                logged = await fetchval(fresh_database, f"SELECT count(*) FROM {schema}.outbox")
                assert f"{schema}: republished {logged} events" in output
            # Routing took every republished signal and feedback in (its groups are committed
            # past them), and notify read what routing published since (nothing).
            for topic, group in (
                ("signals.accepted", "routing.signals"),
                ("signals.feedback", "routing.feedback"),
            ):
                await eventually(
                    lambda t=topic, g=group: _at_end(broker.bootstrap, g, t),
                    what=f"{group} through the republished {topic}",
                )
            await eventually(lambda: quiet(fresh_database, receiver, hooks), what="quiet again")

        after = await rows(
            fresh_database,
            "SELECT signal_id, partner_id, status, escalation_step FROM routing.assignments"
            " ORDER BY signal_id",
        )
        assert after == routing_before
        assert await rows(fresh_database, "SELECT * FROM routing.street_counts") == counts_before
        assert (
            await fetchval(fresh_database, "SELECT count(*) FROM routing.outbox") == outbox_before
        )
        assert {h: [hit.event["id"] for hit in receiver.events(h)] for h in hooks} == (
            delivered_before
        )
    finally:
        broker.stop()


async def _at_end(bootstrap: str, group: str, topic: str) -> bool:
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await probe.start()
    try:
        await probe.topics()
        parts = [TopicPartition(topic, p) for p in probe.partitions_for_topic(topic) or ()]
        ends = await end_offsets(probe, parts)
    finally:
        await probe.stop()
    done = await committed(bootstrap, group, topic)
    return done == sum(ends.values())
