"""`wijkbus replay routing`: the projection rebuilt from the topics equals the live one, now and
at a moment in the past; an altered live projection is reported."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from contracts import topics
from tests.integration.test_intake_audit import _equals, _services, fetchval, send_signals, wijkbus
from tests.integration.test_routing_flow import RULES
from tests.support import demo_registry, eventually, produce, unique
from tools.devstack import write_partner_registry
from wijkbus.infra import EmbeddedBroker


async def street_state(url: str, schema: str, street_key: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        incidents = await conn.fetch(
            f"SELECT signal_id::text AS id, categorie, observed_at FROM {schema}.street_incidents"
            " WHERE street_key = $1 ORDER BY signal_id",
            street_key,
        )
        counts = await conn.fetch(
            f"SELECT categorie, count FROM {schema}.street_counts WHERE street_key = $1",
            street_key,
        )
        assignments = await conn.fetch(
            f"SELECT signal_id::text AS id, rule_id, ruleset_version FROM {schema}.assignments"
            " WHERE street_key = $1 ORDER BY signal_id",
            street_key,
        )
        return {
            "incidents": [tuple(r) for r in incidents],
            "counts": {r["categorie"]: r["count"] for r in counts},
            "assignments": [tuple(r) for r in assignments],
        }
    finally:
        await conn.close()


async def test_replay_equals_live_now_and_at_a_moment_in_the_past(
    fresh_database: str, tmp_path: Path
) -> None:
    registry, creds = demo_registry()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    partners = write_partner_registry(tmp_path / "partners.yaml", creds)
    street = unique("Replaystraat")
    key = f"naam:groningen:{street.lower()}"
    groups = {"intake": unique("intake"), "routing": unique("routing")}
    incidents = "SELECT count(*) FROM routing.street_incidents WHERE street_key = $1"

    broker = EmbeddedBroker().start()  # of its own: the replay reads every record from offset 0
    try:
        env = {
            "DATABASE_URL": fresh_database,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "WIJKBUS_PARTNERS": str(partners),
        }
        async with _services(broker, fresh_database, registry, creds, rules, groups) as http:
            await send_signals(http, creds, street, 6)
            await eventually(lambda: _equals(fetchval(fresh_database, incidents, key), 6))
            moment = datetime.now(UTC)
            then = await street_state(fresh_database, "routing", key)
            await send_signals(http, creds, street, 4)
            await eventually(lambda: _equals(fetchval(fresh_database, incidents, key), 10))

            # A malformed record in the same partition: live dead-letters it, the replay refuses
            # it alone and takes the rest of its batch.
            await produce(broker.bootstrap, topics.SIGNALS_ACCEPTED, b"{kapot", key=key.encode())
            dead = "SELECT count(*) FROM routing.dead_letters"
            await eventually(lambda: _equals(fetchval(fresh_database, dead), 1))

            code, output = await wijkbus("replay", "routing", "--into", "replay_now", env=env)
            assert code == 0, output
            assert "11 records read, 10 handled" in output
            assert "refused (as live would dead-letter it): signals: not a CloudEvent" in output
            assert "no differences: the live projection equals the replay in replay_now" in output
            assert await street_state(fresh_database, "replay_now", key) == await street_state(
                fresh_database, "routing", key
            )

            code, output = await wijkbus(
                "replay", "routing", "--into", "replay_then", "--until", moment.isoformat(), env=env
            )
            assert code == 0, output
            assert "4 after --until left out" in output
            assert await street_state(fresh_database, "replay_then", key) == then
            assert then["counts"] == {"vernieling": 6}

            # Someone "corrects" a count in the live projection by hand.
            await fetchval(
                fresh_database,
                "UPDATE routing.street_counts SET count = count + 1 WHERE street_key = $1",
                key,
            )
            code, output = await wijkbus("replay", "routing", "--into", "replay_check", env=env)
            assert code == 1
            assert "1 differences between routing and replay_check" in output
            assert f"street_counts {key} vernieling: live 11, replay 10" in output

            code, output = await wijkbus("replay", "routing", "--into", "replay_now", env=env)
            assert code != 0
            assert "not empty" in output
    finally:
        broker.stop()
