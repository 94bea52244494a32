"""Routing refuses to start on rules it cannot trust, and keeps every rule set it ran with."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from services.routing import store
from services.routing.app import RoutingSettings, build
from tests.integration.test_routing_flow import routing_groups
from tests.support import demo_registry, running_app
from tools.devstack import DemoCredentials, secret_env_name, write_partner_registry

RULES = """\
version: "v1"
municipality: Groningen
rules:
  - id: ondermijning
    match: {categorie: [ondermijning]}
    responder: politie-groningen
    acknowledge_within_hours: 24
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 48
"""


def settings(tmp_path: Path, rules: str, **kwargs: object) -> RoutingSettings:
    path = tmp_path / "rules.yaml"
    path.write_text(rules)
    return RoutingSettings(rules_file=path, **kwargs)  # type: ignore[arg-type]


def test_rules_naming_an_unregistered_partner_stop_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = DemoCredentials.load_or_create(tmp_path / "secrets.json")
    partners = write_partner_registry(tmp_path / "partners.yaml", creds)
    for partner_id, secret in creds.signing_secrets.items():
        monkeypatch.setenv(secret_env_name(partner_id), secret)
    broken = RULES.replace("responder: politie-groningen", "responder: politie-assen")
    with pytest.raises(SystemExit) as stopped:
        build(settings(tmp_path, broken, partners_file=partners))
    assert str(stopped.value) == (
        f"routing refuses to start: {tmp_path / 'rules.yaml'}: routing rule set refused: "
        "rules[0] (ondermijning): responder 'politie-assen' is not a registered partner"
    )


@pytest.mark.parametrize(
    ("rules", "reason"),
    [
        ("version: [", "not valid YAML"),
        (RULES.replace("    default: true\n", ""), "no default rule"),
        (RULES.replace("municipality:", "gemeente:"), "gemeente: unknown field"),
    ],
)
def test_unusable_rules_stop_the_service_with_the_reason(
    tmp_path: Path, rules: str, reason: str
) -> None:
    registry, _ = demo_registry()
    with pytest.raises(SystemExit, match="routing refuses to start") as stopped:
        build(settings(tmp_path, rules), partners=registry)
    assert reason in str(stopped.value)


def test_missing_rules_file_stops_the_service(tmp_path: Path) -> None:
    registry, _ = demo_registry()
    with pytest.raises(SystemExit, match="cannot read rules"):
        build(RoutingSettings(rules_file=tmp_path / "absent.yaml"), partners=registry)


async def test_a_version_is_kept_once_and_cannot_be_reused_for_other_rules(
    tmp_path: Path, fresh_database: str, kafka_bootstrap: str
) -> None:
    registry, _ = demo_registry()
    servers = {
        "database_url": fresh_database,
        "kafka_bootstrap_servers": kafka_bootstrap,
        "group_prefix": await routing_groups(kafka_bootstrap),
    }
    for _ in range(2):  # a restart with the same rules keeps one row
        async with running_app(build(settings(tmp_path, RULES, **servers), partners=registry)):
            pass
    changed = RULES.replace("acknowledge_within_hours: 24", "acknowledge_within_hours: 12")
    refused = build(settings(tmp_path, changed, **servers), partners=registry)
    # Start the runtime directly: uvicorn turns a failed lifespan into sys.exit inside the loop.
    with pytest.raises(store.RuleSetConflict, match="version 'v1' is already stored"):
        await refused.state.runtime.start()

    conn = await asyncpg.connect(fresh_database, server_settings={"search_path": "routing"})
    try:
        rows = await conn.fetch("SELECT version, body, loaded_at FROM rulesets")
        assert [(r["version"], r["body"]) for r in rows] == [("v1", RULES)]
        assert not await conn.fetchval("SELECT count(*) FROM assignments")
    finally:
        await conn.close()
