"""An operator uploads a new rule set: refused sets change nothing, a new version is stored with
its history, announced with who/when/diff, and routes every signal after it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.routing.app import RoutingSettings, build
from tests.integration.test_routing_flow import RULES, Clock, Router, routing_groups
from tests.support import demo_registry, running_app, unique

V2 = (
    RULES.replace('version: "test-1"', 'version: "test-2"')
    .replace("responder: politie-groningen", "responder: woonstichting-noord")
    .replace("id: overlast-de-hoogte", "id: overlast-corporatie")
)
BROKEN = V2.replace("responder: woonstichting-noord", "responder: brandweer").replace(
    "    default: true\n", ""
)
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
async def setup(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[tuple[Router, Callable[[], FastAPI]]]:
    registry, creds = demo_registry()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    clock = Clock()
    group = await routing_groups(kafka_bootstrap)

    def make() -> FastAPI:
        settings = RoutingSettings(
            database_url=fresh_database,
            kafka_bootstrap_servers=kafka_bootstrap,
            operator_token=creds.operator_token,
            rules_file=rules,
            escalation_interval_s=3600,
            group_prefix=group,
        )
        return build(settings, partners=registry, clock=clock)

    operator = {"Authorization": f"Bearer {creds.operator_token}"}
    async with httpx.AsyncClient(timeout=30) as http:
        yield (
            Router(http, operator, fresh_database, kafka_bootstrap, clock, unique("Regelstraat")),
            make,
        )


async def test_a_new_rule_set_is_checked_stored_announced_and_used(
    setup: tuple[Router, Callable[[], FastAPI]],
) -> None:
    router, make = setup
    async with running_app(make()) as url:
        put = f"{url}/api/v1/rules"
        assert (await router.http.put(put, content=V2, headers=YAML)).status_code == 401

        refused = await router.http.put(put, content=BROKEN, headers={**router.operator, **YAML})
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/problem+json"
        messages = [e["message"] for e in refused.json()["errors"]]
        assert any("'brandweer' is not a registered partner" in m for m in messages)
        assert any(m.startswith("no default rule") for m in messages)
        in_force = await router.http.get(f"{url}/api/v1/rules", headers=router.operator)
        assert in_force.json()["version"] == "test-1"

        headers = {**router.operator, **YAML, "X-Wijkbus-Operator": "gebiedsmanager-oost"}
        accepted = await router.http.put(put, content=V2, headers=headers)
        assert accepted.status_code == 200
        update = accepted.json()
        assert (update["version"], update["previous_version"], update["changed"]) == (
            "test-2",
            "test-1",
            True,
        )
        assert "-    responder: politie-groningen" in update["diff"]
        assert "+    responder: woonstichting-noord" in update["diff"]

        again = await router.http.put(put, content=V2, headers=headers)
        assert again.json()["changed"] is False
        reused = V2.replace("acknowledge_within_hours: 48", "acknowledge_within_hours: 12")
        conflict = await router.http.put(put, content=reused, headers=headers)
        assert conflict.status_code == 409

        signal = router.signal("overlast")
        await router.send(signal)
        assigned = await router.assignment(signal.signal_id)
        assert (assigned["partner_id"], assigned["ruleset_version"], assigned["rule_id"]) == (
            "woonstichting-noord",
            "test-2",
            "overlast-corporatie",
        )
        history = await router.http.get(f"{url}/api/v1/rules/history", headers=router.operator)
        assert [(h["version"], h["loaded_by"]) for h in history.json()["history"]] == [
            ("test-2", "gebiedsmanager-oost"),
            ("test-1", "startup"),
        ]

    [announced] = await router.fetch(
        "SELECT key, value FROM outbox WHERE value LIKE $1", b"%routing.rules-changed%"
    )
    event = json.loads(announced["value"])
    assert bytes(announced["key"]) == b"rules:Groningen"
    assert event["id"] == "rules-changed-test-2"
    assert event["data"]["changed_by"] == "gebiedsmanager-oost"
    assert event["data"]["changed_at"] == "2026-11-20T21:00:00Z"
    assert event["data"]["previous_version"] == "test-1"
    assert "+    responder: woonstichting-noord" in event["data"]["diff"]

    # A restart with the old file keeps the uploaded rules in force: they are newer.
    async with running_app(make()) as url:
        in_force = await router.http.get(f"{url}/api/v1/rules", headers=router.operator)
        assert in_force.json()["version"] == "test-2"
