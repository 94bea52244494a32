"""Intake's event log: the hash chain, signed checkpoints, and republishing after broker loss."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from typer.testing import CliRunner

from contracts import topics
from services.intake import ledger_acts
from services.intake.app import IntakeSettings
from services.intake.app import build as build_intake
from services.intake.ledger_acts import LedgerKey, new_ledger_key
from services.routing.app import RoutingSettings
from services.routing.app import build as build_routing
from tests.integration.test_intake_gateway import _feedback
from tests.integration.test_routing_flow import RULES, routing_groups
from tests.support import demo_registry, encode, eventually, running_app, signal_event, unique
from tools.cli import app as wijkbus_cli
from tools.devstack import DEMO_PARTNERS, DemoCredentials
from wijkbus.infra import EmbeddedBroker
from wijkbus.partners import PartnerRegistry

CE = {"Content-Type": "application/cloudevents+json"}
CORP = "woonstichting-noord"
SOURCE = {p["id"]: p["source"] for p in DEMO_PARTNERS}


async def wijkbus(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run the `wijkbus` CLI (in a thread: each command runs its own event loop)."""
    result = await asyncio.to_thread(
        CliRunner().invoke, wijkbus_cli, list(args), env={**env, "COLUMNS": "200"}
    )
    return result.exit_code, result.output


async def fetchval(url: str, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def send_signals(
    http: httpx.AsyncClient, creds: DemoCredentials, street: str, count: int
) -> list[str]:
    """Post `count` signals on `street` as the housing corporation; return their signal ids."""
    auth = {"Authorization": f"Bearer {creds.api_keys[CORP]}"}
    ids = []
    for _ in range(count):
        event = signal_event(SOURCE[CORP], street=street, categorie="vernieling")
        response = await http.post("/api/v1/events", content=encode(event), headers={**CE, **auth})
        assert response.status_code == 202, response.text
        ids.append(response.json()["signal_id"])
    return ids


@pytest.fixture
async def intake(
    fresh_database: str, kafka_bootstrap: str
) -> AsyncIterator[tuple[httpx.AsyncClient, DemoCredentials]]:
    registry, creds = demo_registry()
    settings = IntakeSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=kafka_bootstrap,
        operator_token=creds.operator_token,
        group_prefix=unique("intake"),
        seal_interval_s=0.1,
    )
    async with (
        running_app(build_intake(settings, partners=registry)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield http, creds


async def test_the_chain_verifies_and_names_the_first_edited_row(
    intake: tuple[httpx.AsyncClient, DemoCredentials], fresh_database: str, tmp_path: Path
) -> None:
    http, creds = intake
    await send_signals(http, creds, unique("Ketenstraat"), 6)
    env = {"DATABASE_URL": fresh_database}

    async def sealed() -> bool:
        code, output = await wijkbus("audit", "verify", env=env)
        return code == 0 and "intact: 6 sealed rows" in output and "not sealed" not in output

    await eventually(sealed, what="six sealed rows")
    key, checkpoint = tmp_path / "operator.pem", tmp_path / "checkpoint.json"
    code, output = await wijkbus(
        "audit", "checkpoint", "--key", str(key), "--out", str(checkpoint), env=env
    )
    assert code == 0, output
    code, output = await wijkbus("audit", "verify", "--checkpoint", str(checkpoint), env=env)
    assert code == 0, output
    assert "checkpoint holds" in output

    # An "improvement" of the fourth event, straight in PostgreSQL.
    seq = await fetchval(fresh_database, "SELECT seq FROM intake.event_log WHERE position = 4")
    await fetchval(
        fresh_database,
        "UPDATE intake.event_log SET value = convert_to(replace(convert_from(value, 'UTF8'),"
        " 'vernieling', 'vervuiling'), 'UTF8') WHERE position = 4",
    )
    code, output = await wijkbus("audit", "verify", env=env)
    assert code == 1
    assert f"BROKEN at chain row 4 (event_log.seq {seq}): its content was changed" in output
    assert "the 3 rows before it hold" in output
    code, output = await wijkbus("audit", "checkpoint", "--key", str(key), env=env)
    assert code == 1
    assert "no checkpoint: the chain breaks at row 4" in output


async def test_a_deleted_row_or_a_rewritten_history_is_evident(
    intake: tuple[httpx.AsyncClient, DemoCredentials], fresh_database: str, tmp_path: Path
) -> None:
    http, creds = intake
    await send_signals(http, creds, unique("Ketenstraat"), 4)
    env = {"DATABASE_URL": fresh_database}
    sealed = "SELECT count(*) FROM intake.event_log WHERE position IS NOT NULL"
    await eventually(lambda: _equals(fetchval(fresh_database, sealed), 4), what="sealing")
    checkpoint = tmp_path / "checkpoint.json"
    code, output = await wijkbus(
        "audit", "checkpoint", "--key", str(tmp_path / "k.pem"), "--out", str(checkpoint), env=env
    )
    assert code == 0, output

    await fetchval(fresh_database, "DELETE FROM intake.event_log WHERE position = 2")
    code, output = await wijkbus("audit", "verify", env=env)
    assert code == 1
    assert "BROKEN at chain row 2" in output
    assert "BROKEN at chain row 2: it is missing: the chain jumps from 1 to 3" in output

    # Rewriting the whole chain from row 2 on (hashes recomputed) still contradicts the checkpoint.
    await fetchval(
        fresh_database,
        "UPDATE intake.event_log SET position = NULL, content_hash = NULL, prev_hash = NULL,"
        " row_hash = NULL WHERE position > 1",
    )
    await eventually(lambda: _equals(fetchval(fresh_database, sealed), 3), what="resealing")
    code, output = await wijkbus("audit", "verify", "--checkpoint", str(checkpoint), env=env)
    assert code == 1
    assert "intact: 3 sealed rows" in output
    assert "CHECKPOINT REFUSED" in output
    assert "row 4 of the checkpoint is gone from the chain" in output

    forged = checkpoint.read_text().replace('"position": 4', '"position": 3')
    (tmp_path / "forged.json").write_text(forged)
    code, output = await wijkbus(
        "audit", "verify", "--checkpoint", str(tmp_path / "forged.json"), env=env
    )
    assert code == 1
    assert "signature does not match" in output


async def _equals(value: Any, expected: Any) -> bool:
    return await value == expected


LEDGER_KEY = new_ledger_key()


@pytest.fixture
async def signing_intake(
    fresh_database: str, kafka_bootstrap: str
) -> AsyncIterator[tuple[httpx.AsyncClient, DemoCredentials, Any]]:
    """Intake with a ledger key of the test's own; yields its client, credentials and app."""
    registry, creds = demo_registry()
    settings = IntakeSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=kafka_bootstrap,
        operator_token=creds.operator_token,
        group_prefix=unique("intake"),
        seal_interval_s=0.1,
        ledger_key=LEDGER_KEY,
    )
    app = build_intake(settings, partners=registry)
    async with running_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http, creds, app


async def _sealed(url: str, count: int) -> None:
    sealed = "SELECT count(*) FROM intake.event_log WHERE position IS NOT NULL"
    await eventually(
        lambda: _equals(
            fetchval(
                url,
                sealed,
            ),
            count,
        ),
        what=f"{count} sealed",
    )


def _env(url: str) -> dict[str, str]:
    """The auditor's environment: the database and the ledger key intake signs with."""
    return {"DATABASE_URL": url, "INTAKE_LEDGER_KEY": LEDGER_KEY}


async def test_a_row_redacted_by_hand_fails_verify_even_with_a_forged_redaction_act(
    signing_intake: tuple[httpx.AsyncClient, DemoCredentials, Any], fresh_database: str
) -> None:
    http, creds, _ = signing_intake
    await send_signals(http, creds, unique("Redactiestraat"), 3)
    await _sealed(fresh_database, 3)
    code, output = await wijkbus("audit", "verify", env=_env(fresh_database))
    assert code == 0, output
    assert "signatures checked against the keys beside them" not in output  # a trusted key

    # What retention would leave, done by hand: no content, a redaction time, the hashes kept.
    seq = await fetchval(fresh_database, "SELECT seq FROM intake.event_log WHERE position = 2")
    await fetchval(
        fresh_database,
        "UPDATE intake.event_log SET value = NULL, redacted_at = now() WHERE position = 2",
    )
    code, output = await wijkbus("audit", "verify", env=_env(fresh_database))
    assert code == 1, output
    assert (
        f"BROKEN at chain row 2 (event_log.seq {seq}): its content was removed by hand:"
        " no signed redaction act records it; the 1 rows before it hold"
    ) in output

    # A redaction act appended in the right form, signed by a key that is not intake's.
    conn = await asyncpg.connect(fresh_database, server_settings={"search_path": "intake"})
    try:
        async with conn.transaction():
            row = await conn.fetchrow("SELECT redacted_at, value FROM event_log WHERE position = 2")
            await ledger_acts.append(
                conn,
                LedgerKey.ephemeral(),
                [(ledger_acts.REDACTION, 2, "0" * 64, row["redacted_at"], "vervalst")],
            )
        forged = await conn.fetchval("SELECT max(n) FROM ledger_acts")
    finally:
        await conn.close()
    code, output = await wijkbus("audit", "verify", env=_env(fresh_database))
    assert code == 1, output
    assert f"BROKEN at ledger act {forged}: it is signed by" in output
    assert "which is not a trusted ledger key" in output


async def test_a_relabelled_signal_id_fails_verify_and_adds_no_step_to_the_other_trail(
    signing_intake: tuple[httpx.AsyncClient, DemoCredentials, Any], fresh_database: str
) -> None:
    http, creds, _ = signing_intake
    mine, other = await send_signals(http, creds, unique("Labelstraat"), 2)
    await _sealed(fresh_database, 2)
    position = await fetchval(
        fresh_database,
        "SELECT position FROM intake.event_log WHERE signal_id::text = $1",
        mine,
    )
    await fetchval(
        fresh_database,
        "UPDATE intake.event_log SET signal_id = $1::uuid WHERE signal_id::text = $2",
        other,
        mine,
    )
    code, output = await wijkbus("audit", "verify", env=_env(fresh_database))
    assert code == 1, output
    assert f"BROKEN at chain row {position}" in output
    assert (
        f"its signal_id was changed after it was sealed: it says {other}, its event is about {mine}"
    ) in output

    code, output = await wijkbus(
        "audit", "trail", other, "--format", "json", env=_env(fresh_database)
    )
    assert code == 0, output
    steps = json.loads(output)["steps"]
    assert [s["what"] for s in steps].count("geaccepteerd") == 1  # its own, not the foreign one
    [odd] = [s for s in steps if s["what"] == "afwijking in het logboek"]
    assert (
        f"ketenrij {position} staat op deze melding maar gaat over melding {mine}" in odd["detail"]
    )


async def test_removing_the_newest_rows_after_a_checkpoint_fails_verify(
    signing_intake: tuple[httpx.AsyncClient, DemoCredentials, Any], fresh_database: str
) -> None:
    http, creds, app = signing_intake
    checkpointer = app.state.background.checkpointer
    await send_signals(http, creds, unique("Staartstraat"), 4)
    await _sealed(fresh_database, 4)
    act = await checkpointer.run_once()  # what the schedule does every few minutes
    assert act.position == 4
    env = _env(fresh_database)
    code, output = await wijkbus("audit", "verify", env=env)
    assert code == 0, output
    assert f"newest act {act.n} (checkpoint of chain row 4 at" in output

    # The newest two rows go, and with them any trace of them in the outbox.
    await fetchval(fresh_database, "DELETE FROM intake.event_log WHERE position > 2")
    code, output = await wijkbus("audit", "verify", env=env)
    assert code == 1, output
    assert (f"BROKEN at ledger act {act.n}: act {act.n} (checkpoint of chain row 4 at") in output
    assert (
        "vouches for chain row 4, but the chain ends at row 2: its newest rows were removed"
        in output
    )

    # Removing the checkpoint as well: intake refuses to sign the shorter chain, so the newest
    # checkpoint left grows old, and verify says so once it is older than allowed.
    await fetchval(fresh_database, "DELETE FROM intake.ledger_acts WHERE n >= $1", act.n)
    with pytest.raises(RuntimeError, match=f"checkpoint act {act.n} this intake wrote is gone"):
        await checkpointer.run_once()
    await asyncio.sleep(1.5)
    code, output = await wijkbus("audit", "verify", "--max-checkpoint-age", "1", env=env)
    assert code == 1, output
    assert (
        "is older than 0:00:01: intake stopped without a final checkpoint, or newer rows" in output
    )


async def committed(bootstrap: str, group: str, topic: str) -> int:
    """How many records of `topic` the consumer group has committed (all partitions)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        await consumer.topics()
        total = 0
        for p in consumer.partitions_for_topic(topic) or ():
            total += await consumer.committed(TopicPartition(topic, p)) or 0
        return total
    finally:
        await consumer.stop()


async def test_after_the_broker_lost_everything_republishing_converges_without_double_counts(
    fresh_database: str, tmp_path: Path
) -> None:
    registry, creds = demo_registry()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    street = unique("Herstelstraat")
    street_key = f"naam:groningen:{street.lower()}"
    groups = {"intake": unique("intake"), "routing": unique("routing")}
    incidents = "SELECT count(*) FROM routing.street_incidents WHERE street_key = $1"

    broker = EmbeddedBroker().start()
    try:
        async with _services(broker, fresh_database, registry, creds, rules, groups) as http:
            before = await send_signals(http, creds, street, 8)
            await eventually(
                lambda: _equals(fetchval(fresh_database, incidents, street_key), 8),
                what="routing counted eight",
            )
        state = await _routing_state(fresh_database, street_key)

        broker.stop()  # the in-memory broker: every topic and committed offset is gone
        broker = EmbeddedBroker(port=broker.port).start()
        async with _services(broker, fresh_database, registry, creds, rules, groups) as http:
            after = await send_signals(http, creds, street, 2)
            await eventually(
                lambda: _equals(fetchval(fresh_database, incidents, street_key), 10),
                what="the two new ones counted",
            )
            code, output = await wijkbus(
                "replay",
                "--republish",
                "intake",
                env={"DATABASE_URL": fresh_database, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap},
            )
            assert code == 0, output
            logged = await fetchval(fresh_database, "SELECT count(*) FROM intake.outbox")
            assert f"intake: republished {logged} events" in output

            # Intake sent its log (eight signals) again by itself when it found the new broker
            # empty, then took two new ones; the command sent all ten once more.
            signals_group = f"{groups['routing']}.signals"
            await eventually(
                lambda: _equals(committed(broker.bootstrap, signals_group, "signals.accepted"), 20),
                what="routing through the republished records",
            )
        final = await _routing_state(fresh_database, street_key)
    finally:
        broker.stop()

    assert final["incidents"] == 10
    assert final["counts"] == {"vernieling": 10}
    assert final["assigned"] == sorted(before + after)
    assert {k: v for k, v in final["assignments"].items() if k in before} == state["assignments"]
    # No effect twice: one routing.assigned per signal in routing's outbox, under its own id.
    assert final["assigned_events"] == 10


async def _routing_state(url: str, street_key: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url, server_settings={"search_path": "routing"})
    try:
        rows = await conn.fetch(
            "SELECT signal_id::text AS id, partner_id, rule_id FROM assignments"
            " WHERE street_key = $1",
            street_key,
        )
        counts = await conn.fetch(
            "SELECT categorie, count FROM street_counts WHERE street_key = $1", street_key
        )
        return {
            "incidents": await conn.fetchval(
                "SELECT count(*) FROM street_incidents WHERE street_key = $1", street_key
            ),
            "counts": {r["categorie"]: r["count"] for r in counts},
            "assigned": sorted(r["id"] for r in rows),
            "assignments": {r["id"]: (r["partner_id"], r["rule_id"]) for r in rows},
            "assigned_events": await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE topic = $1 AND value LIKE $2",
                topics.ROUTING_EVENTS,
                b"%routing.assigned%",
            ),
        }
    finally:
        await conn.close()


@asynccontextmanager
async def _services(
    broker: EmbeddedBroker,
    database_url: str,
    registry: PartnerRegistry,
    creds: DemoCredentials,
    rules: Path,
    groups: dict[str, str],
) -> AsyncIterator[httpx.AsyncClient]:
    """Intake and routing on `broker`; yields an HTTP client for intake."""
    common: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": broker.bootstrap,
        "operator_token": creds.operator_token,
    }
    intake = IntakeSettings(**common, group_prefix=groups["intake"])
    routing = RoutingSettings(
        **common, group_prefix=groups["routing"], rules_file=rules, escalation_interval_s=3600
    )
    async with (
        running_app(build_intake(intake, partners=registry)) as url,
        running_app(build_routing(routing, partners=registry)),
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield http


async def test_the_trail_of_a_signal_tells_its_whole_story_without_personal_data(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    registry, creds = demo_registry()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    common = {
        "database_url": fresh_database,
        "kafka_bootstrap_servers": kafka_bootstrap,
        "operator_token": creds.operator_token,
    }
    intake_settings = IntakeSettings(**common, group_prefix=unique("intake"))  # type: ignore[arg-type]
    routing_settings = RoutingSettings(
        **common,  # type: ignore[arg-type]
        group_prefix=await routing_groups(kafka_bootstrap),
        rules_file=rules,
        escalation_interval_s=3600,
    )
    canary = unique("Kanarie")
    police = "politie-groningen"
    async with (
        running_app(build_intake(intake_settings, partners=registry)) as url,
        running_app(build_routing(routing_settings, partners=registry)),
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):

        async def post(body: dict[str, Any], partner: str) -> httpx.Response:
            auth = {"Authorization": f"Bearer {creds.api_keys[partner]}"}
            return await http.post("/api/v1/events", content=encode(body), headers={**CE, **auth})

        event = signal_event(SOURCE[CORP], description=f"Overlast bij {canary}")
        signal_id = (await post(event, CORP)).json()["signal_id"]

        async def acknowledged() -> bool:
            answer = await post(_feedback(police, signal_id), police)
            return answer.status_code == 202

        await eventually(acknowledged, what="the police's opgepakt accepted")
        done = await post(_feedback(police, signal_id, "afgehandeld"), police)
        assert done.status_code == 202
        resolved = "SELECT status FROM routing.assignments WHERE signal_id::text = $1"
        await eventually(
            lambda: _equals(fetchval(fresh_database, resolved, signal_id), "afgehandeld"),
            what="routing resolved it",
        )

    env = {"DATABASE_URL": fresh_database}
    code, output = await wijkbus("audit", "trail", signal_id, "--format", "json", env=env)
    assert code == 0, output
    steps = [(s["service"], s["what"]) for s in json.loads(output)["steps"]]
    assert steps == [
        ("intake", "ontvangen"),
        ("intake", "geaccepteerd"),
        ("routing", "toegewezen"),
        ("intake", "ontvangen"),
        ("intake", "terugmelding opgepakt"),
        ("routing", "opgepakt"),
        ("intake", "ontvangen"),
        ("intake", "terugmelding afgehandeld"),
        ("routing", "afgehandeld"),
    ]
    assigned = json.loads(output)["steps"][2]["detail"]
    assert "aan politie-groningen door regel overlast-de-hoogte van regelset test-1" in assigned
    for fmt in ("json", "html", "table"):
        code, output = await wijkbus("audit", "trail", signal_id, "--format", fmt, env=env)
        assert code == 0
        assert canary not in output
        assert "9714" not in output  # the postcode
        assert "Harde muziek" not in output  # a description never leaves intake
    code, output = await wijkbus("audit", "trail", str(uuid4()), env=env)
    assert code == 1
    assert "no service knows signal" in output
