"""Replaying signals.accepted from offset 0 into an empty schema, under a new consumer group,
rebuilds exactly the live projection: incidents, all-time and rolling counts, and assignments."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.routing.app import RoutingSettings, build
from tests.integration.test_routing_flow import START, Clock, Router, routing_groups
from tests.support import demo_registry, eventually, running_app, unique
from wijkbus.infra import Backend

RULES = """\
version: "replay-1"
municipality: Groningen
gebiedsmanager: gemeente-groningen
rules:
  - id: historie
    match: {categorie: [overlast, vernieling], min_recent: {days: 30, count: 3}}
    responder: wij-groningen
    acknowledge_within_hours: 8
    hours: werkuren
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 48
thresholds:
  - id: wijkhub
    categorie: [overlast, vernieling]
    window_days: 30
    count: 3
    advice: Bespreek een wijkhub.
"""


@pytest.fixture
def replay_database(backend: Backend) -> Iterator[str]:
    """A second empty database for the rebuilt projection."""
    name = f"replay_{uuid.uuid4().hex}"
    url = backend.create_database(name)
    try:
        yield url
    finally:
        backend.drop_database(name)


async def projection(url: str, schema: str, streets: list[str]) -> dict[str, Any]:
    """Everything the street projection and the assignments hold for `streets`."""
    conn = await asyncpg.connect(url, server_settings={"search_path": schema})
    try:
        incidents = await conn.fetch(
            "SELECT signal_id, street_key, categorie, observed_at FROM street_incidents"
            " WHERE street_key = ANY($1) ORDER BY signal_id",
            streets,
        )
        counts = await conn.fetch(
            "SELECT street_key, categorie, count, street, city, buurt_code FROM street_counts"
            " WHERE street_key = ANY($1) ORDER BY street_key, categorie",
            streets,
        )
        assignments = await conn.fetch(
            "SELECT signal_id, partner_id, rule_id, ruleset_version, acknowledge_by, chain::text"
            " FROM assignments WHERE street_key = ANY($1) ORDER BY signal_id",
            streets,
        )
        return {
            "incidents": [tuple(r) for r in incidents],
            "counts": [tuple(r) for r in counts],
            "assignments": [tuple(r) for r in assignments],
        }
    finally:
        await conn.close()


async def test_replaying_accepted_signals_into_an_empty_schema_gives_the_live_projection(
    fresh_database: str, replay_database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    registry, creds = demo_registry()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    clock = Clock()
    operator = {"Authorization": f"Bearer {creds.operator_token}"}
    common = {
        "kafka_bootstrap_servers": kafka_bootstrap,
        "operator_token": creds.operator_token,
        "rules_file": rules,
        "escalation_interval_s": 3600,
    }
    live = RoutingSettings(
        database_url=fresh_database,
        group_prefix=await routing_groups(kafka_bootstrap),
        **common,  # type: ignore[arg-type]
    )  # type: ignore[arg-type]
    replay_schema = f"routing_replay_{uuid.uuid4().hex[:8]}"  # also a new consumer group
    replay = RoutingSettings(
        database_url=replay_database,
        service_name=replay_schema,
        **common,  # type: ignore[arg-type]
    )
    day = timedelta(days=1)
    # Out of order and late: observation ages in days, in the order they are delivered.
    plan = {"overlast": [3, 1, 40, 2, 100, 0, 29], "vernieling": [5, 31, 4], "zorg": [1, 95]}

    async with httpx.AsyncClient(timeout=30) as http:
        routers = [
            Router(http, operator, fresh_database, kafka_bootstrap, clock, unique("Replaystraat"))
            for _ in range(3)
        ]
        streets = [r.street_key for r in routers]
        async with running_app(build(live, partners=registry, clock=clock)) as live_url:
            last = []
            for router in routers:
                for categorie, ages in plan.items():
                    for age in ages:
                        signal = router.signal(categorie, observed_at=START - age * day)
                        await router.send(signal)
                last.append(signal.signal_id)
            for router, signal_id in zip(routers, last, strict=True):
                await router.assignment(signal_id)
            live_streets = [
                (await http.get(f"{live_url}/api/v1/streets/{key}", headers=operator)).json()
                for key in streets
            ]
        expected = await projection(fresh_database, "routing", streets)
        assert len(expected["incidents"]) == 3 * 12
        assert {a[2] for a in expected["assignments"]} == {"historie", "standaard"}

        async with running_app(build(replay, partners=registry, clock=clock)) as replay_url:

            async def rebuilt() -> bool:
                found = await projection(replay_database, replay_schema, streets)
                return len(found["incidents"]) == len(expected["incidents"])

            await eventually(rebuilt, timeout=120, what="the replay to catch up")
            replay_streets = [
                (await http.get(f"{replay_url}/api/v1/streets/{key}", headers=operator)).json()
                for key in streets
            ]
        assert await projection(replay_database, replay_schema, streets) == expected
        assert replay_streets == live_streets
        assert live_streets[0]["windows"]["30"] == {"overlast": 5, "vernieling": 2, "zorg": 1}
