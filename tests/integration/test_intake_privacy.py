"""Sealed personal data on the real broker and PostgreSQL: the privacy canary and erasure."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
import structlog

from contracts import topics
from contracts.envelope import new_event, to_json_bytes
from contracts.events import ROUTING_ASSIGNED_TYPE, ResponderAssigned
from services.intake.app import IntakeSettings, build
from tests.support import (
    consume_json,
    demo_registry,
    encode,
    eventually,
    produce,
    running_app,
    signal_event,
)
from tools.devstack import DEMO_PARTNERS, REPO, DemoCredentials
from wijkbus.partners import sign
from wijkbus.vault import Vault, new_master_key

CE = {"Content-Type": "application/cloudevents+json"}
SOURCE = {p["id"]: p["source"] for p in DEMO_PARTNERS}
CORP, WIJ, POLICE = "woonstichting-noord", "wij-groningen", "politie-groningen"


@dataclass
class Gateway:
    """A running intake, its database and broker, and how to talk to it as a partner."""

    http: httpx.AsyncClient
    creds: DemoCredentials
    database_url: str
    bootstrap: str

    def auth(self, partner: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.creds.api_keys[partner]}"}

    def auth_operator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.creds.operator_token}"}

    async def person(self, signal_id: str, partner: str) -> httpx.Response:
        return await self.http.get(
            f"/api/v1/signals/{signal_id}/person", headers=self.auth(partner)
        )

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    async def send_kafka(self, partner: str, body: bytes) -> None:
        secret = self.creds.signing_secrets[partner].encode()
        await produce(
            self.bootstrap,
            topics.partner_events(partner),
            body,
            headers=[("wijkbus-signature", sign(secret, body).encode())],
        )

    async def receipts(self, partner: str, event_id: str, count: int) -> list[dict[str, Any]]:
        async def enough() -> list[dict[str, Any]] | None:
            found = await consume_json(
                self.bootstrap, topics.partner_receipts(partner), count=10**6, timeout=2
            )
            mine = [r for r in found if r["data"].get("event_id") == event_id]
            return mine if len(mine) >= count else None

        return await eventually(enough, what=f"{count} receipts for {event_id}")

    async def assign(self, signal_id: str, partner: str) -> None:
        """Act as routing: assign the signal to `partner` on routing.events."""
        now = datetime.now(UTC)
        assigned = ResponderAssigned(
            signal_id=signal_id,
            partner_id=partner,
            categorie="huurachterstand",
            street_key="naam:groningen:asingastraat",
            buurt_code="BU00140107",
            rule_id="test",
            ruleset_version="test",
            acknowledge_by=None,
            assigned_at=now,
        )
        event = new_event(ROUTING_ASSIGNED_TYPE, "urn:nld:wijkbus:routing", assigned, time=now)
        await produce(
            self.bootstrap, topics.ROUTING_EVENTS, to_json_bytes(event), key=signal_id.encode()
        )


@pytest.fixture
async def gateway(fresh_database: str, kafka_bootstrap: str) -> AsyncIterator[Gateway]:
    registry, creds = demo_registry()
    settings = IntakeSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=kafka_bootstrap,
        operator_token=creds.operator_token,
    )
    app = build(settings, partners=registry, vault=Vault.from_setting(new_master_key()))
    async with (
        running_app(app) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Gateway(http, creds, fresh_database, kafka_bootstrap)


def canary_person() -> dict[str, Any]:
    """A person whose name, phone and e-mail occur nowhere else."""
    tag = uuid.uuid4().hex[:10]
    return {
        "name": f"Kanarie Vogelzang-{tag}",
        "phone": f"06{random.randrange(10**8):08d}",
        "email": f"kanarie.{tag}@voorbeeld.nl",
        "arrears_cents": 123456,
        "arrears_since": "2026-08-01",
    }


def leaks(text: str, person: dict[str, Any]) -> list[str]:
    """Which of the person's name, phone and e-mail occur in `text` (case-insensitive)."""
    folded = text.casefold()
    return [k for k in ("name", "phone", "email") if str(person[k]).casefold() in folded]


async def database_text(gateway: Gateway) -> str:
    """Every text, json and bytea value in intake's schema, vault included, as one text."""
    columns = await gateway.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'intake'"
        " AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'bytea', 'ARRAY')"
    )
    assert {c["table_name"] for c in columns} >= {"signals", "outbox", "vault_persons"}
    parts = []
    for c in columns:
        rows = await gateway.fetch(
            f'SELECT "{c["column_name"]}" AS v FROM intake."{c["table_name"]}"'
        )
        for row in rows:
            value = row["v"]
            parts.append(value.decode(errors="replace") if isinstance(value, bytes) else str(value))
    return "\n".join(parts)


async def topics_text(gateway: Gateway) -> str:
    """Everything on signals.accepted, the sender's receipts and routing.events."""
    found = []
    for topic in (topics.SIGNALS_ACCEPTED, topics.partner_receipts(CORP), topics.ROUTING_EVENTS):
        found += await consume_json(gateway.bootstrap, topic, count=10**6, timeout=3)
    return json.dumps(found, ensure_ascii=False)


async def erase(gateway: Gateway, *args: str) -> tuple[int, str]:
    """Run the real `wijkbus erase` command against the test database."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tools",
        "erase",
        "--yes",
        *args,
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": gateway.database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_canary_person_is_sealed_read_only_by_its_assigned_reader_and_gone_after_erasure(
    gateway: Gateway, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)  # the service runs stdlib loggers at WARNING
    person = canary_person()
    event = signal_event(SOURCE[CORP], categorie="huurachterstand", person=person)
    raw = encode(event)
    with structlog.testing.capture_logs() as logged:
        await gateway.send_kafka(CORP, raw)
        (receipt,) = await gateway.receipts(CORP, event["id"], 1)
        assert receipt["type"] == "nl.wijkaanpak.ontvangst.geaccepteerd", receipt
        signal_id = receipt["data"]["signal_id"]

        async def published() -> dict[str, Any] | None:
            found = await consume_json(
                gateway.bootstrap, topics.SIGNALS_ACCEPTED, count=10**6, timeout=2
            )
            return next((e for e in found if e["data"]["signal_id"] == signal_id), None)

        accepted = await eventually(published, what="the SignalAccepted")
        assert accepted["data"]["has_person"] is True
        assert accepted["data"]["subject_ref"].startswith("subj_")
        assert accepted["data"]["dataref"] == f"/api/v1/signals/{signal_id}/person"
        assert accepted["dataref"] == accepted["data"]["dataref"]
        subject_ref = accepted["data"]["subject_ref"]

        # Nobody is assigned yet: even the partner allowed to read personal data gets 404.
        assert (await gateway.person(signal_id, WIJ)).status_code == 404
        await gateway.assign(signal_id, WIJ)

        async def readable() -> httpx.Response | None:
            response = await gateway.person(signal_id, WIJ)
            return response if response.status_code == 200 else None

        read = await eventually(readable, what="the assigned reader reading the person")
        assert read.json() == person
        assert read.headers["cache-control"] == "no-store"
        for other in (CORP, POLICE):  # the sender and a bystander, neither may read
            assert (await gateway.person(signal_id, other)).status_code == 404
        unauthenticated = await gateway.http.get(f"/api/v1/signals/{signal_id}/person")
        assert unauthenticated.status_code == 401

        # Reassigned to a partner without the right: it gets 404, and so does the former reader.
        await gateway.assign(signal_id, POLICE)

        async def reassigned() -> bool:
            return (await gateway.person(signal_id, WIJ)).status_code == 404

        await eventually(reassigned, what="the former reader losing access")
        assert (await gateway.person(signal_id, POLICE)).status_code == 404

        metrics = (await gateway.http.get("/metrics")).text
        dashboard = await gateway.http.get("/dashboard", headers=gateway.auth_operator())
        assert dashboard.status_code == 200
        assert signal_id[:12] in dashboard.text  # it shows the signal, just not the person
        seen = {
            "topics": await topics_text(gateway),
            "database": await database_text(gateway),
            "metrics": metrics,
            "dashboard": dashboard.text,
        }

        code, out = await erase(gateway, "--subject", subject_ref, "--by", "privacy officer T-1")
        assert code == 0, out
        # Assigned to POLICE now: nobody may read it, so nobody learns that there was a person.
        for partner in (WIJ, POLICE, CORP):
            hidden = await gateway.person(signal_id, partner)
            assert hidden.status_code == 404, hidden.text
            assert hidden.headers["content-type"] == "application/problem+json"
        await gateway.assign(signal_id, WIJ)

        async def gone() -> httpx.Response | None:
            response = await gateway.person(signal_id, WIJ)
            return response if response.status_code == 410 else None

        answer = await eventually(gone, what="410 for the reader assigned again")
        assert answer.headers["content-type"] == "application/problem+json"
        for partner in (POLICE, CORP):
            assert (await gateway.person(signal_id, partner)).status_code == 404

        # The original record again (a replay) and the same person in a new event (a re-send).
        await gateway.send_kafka(CORP, raw)
        receipts = await gateway.receipts(CORP, event["id"], 2)
        assert sorted(r["type"].rsplit(".", 1)[1] for r in receipts) == [
            "duplicaat",
            "geaccepteerd",
        ]
        resent = signal_event(SOURCE[CORP], categorie="huurachterstand", person=person)
        answer = await gateway.http.post(
            "/api/v1/events", content=encode(resent), headers={**CE, **gateway.auth(CORP)}
        )
        assert answer.status_code == 202, answer.text
        new_signal = answer.json()["signal_id"]
        await gateway.assign(new_signal, WIJ)
        await eventually(
            lambda: _status_is(gateway, new_signal, "toegewezen"), what="the re-sent assignment"
        )
        for sid in (signal_id, new_signal):
            assert (await gateway.person(sid, WIJ)).status_code == 410
        # The person where no person may be: refused, and its log line says why, not who.
        misplaced = signal_event(SOURCE[CORP], person=person)
        answer = await gateway.http.post(
            "/api/v1/events", content=encode(misplaced), headers={**CE, **gateway.auth(CORP)}
        )
        assert answer.status_code == 400, answer.text
        seen["database after erasure"] = await database_text(gateway)

    # The capture works: the service's own audit line about the allowed read was caught.
    assert any(e.get("outcome") == "read" and e.get("partner_id") == WIJ for e in logged)
    # Every judged event got its line (over Kafka and HTTP), and these lines are checked below.
    told = {(e["event"], e.get("partner_id"), e.get("channel")) for e in logged}
    assert {
        ("event accepted", CORP, "kafka"),
        ("event duplicate", CORP, "kafka"),
        ("event accepted", CORP, "http"),
        ("event refused", CORP, "http"),
    } <= told, told
    seen["logs"] = "\n".join(
        [repr(logged), caplog.text, *capfd.readouterr()]  # structlog, stdlib, raw output
    )
    for where, text in seen.items():
        assert not leaks(text, person), f"the canary's {leaks(text, person)} leaked into {where}"
    vault = await gateway.fetch(
        "SELECT s.wrapped_key, p.sealed FROM intake.vault_subjects s"
        " JOIN intake.vault_persons p USING (subject_ref) WHERE s.subject_ref = $1",
        subject_ref,
    )
    assert len(vault) == 2
    assert all(r["wrapped_key"] is None and r["sealed"] is None for r in vault)
    (erasure,) = await gateway.fetch(
        "SELECT erased_by, persons FROM intake.vault_erasures WHERE subject_ref = $1", subject_ref
    )
    assert dict(erasure) == {"erased_by": "privacy officer T-1", "persons": 1}
    audit = await gateway.fetch(
        "SELECT partner_id, outcome FROM intake.vault_reads WHERE signal_id = $1 ORDER BY id",
        signal_id,
    )
    outcomes = [(r["partner_id"], r["outcome"]) for r in audit]
    assert (WIJ, "read") in outcomes
    assert (CORP, "refused") in outcomes
    assert (None, "unauthenticated") in outcomes
    assert outcomes[-1] == (WIJ, "erased")


async def _status_is(gateway: Gateway, signal_id: str, status: str) -> bool:
    rows = await gateway.fetch(
        "SELECT status FROM intake.signals WHERE signal_id = $1", uuid.UUID(signal_id)
    )
    return bool(rows) and rows[0]["status"] == status


async def test_erase_of_an_unknown_subject_changes_nothing_and_says_so(gateway: Gateway) -> None:
    code, out = await erase(gateway, "--subject", "subj_nobody", "--by", "privacy officer")
    assert code == 1
    assert "no such subject" in out
    assert await gateway.fetch("SELECT * FROM intake.vault_erasures") == []


async def test_erase_by_signal_shreds_every_signal_of_that_subject_and_no_other(
    gateway: Gateway,
) -> None:
    person, bystander = canary_person(), canary_person()
    sent = [person, {**person, "arrears_cents": 999}, bystander]
    signal_ids = []
    for who in sent:
        event = signal_event(SOURCE[CORP], categorie="huurachterstand", person=who)
        answer = await gateway.http.post(
            "/api/v1/events", content=encode(event), headers={**CE, **gateway.auth(CORP)}
        )
        assert answer.status_code == 202, answer.text
        signal_ids.append(answer.json()["signal_id"])

    code, out = await erase(gateway, "--signal", signal_ids[1], "--by", "privacy officer T-2")
    assert code == 0, out
    rows = await gateway.fetch(
        "SELECT p.signal_id::text AS signal_id, p.sealed IS NOT NULL AS sealed"
        " FROM intake.vault_persons p"
    )
    assert {r["signal_id"]: r["sealed"] for r in rows} == {
        signal_ids[0]: False,
        signal_ids[1]: False,
        signal_ids[2]: True,
    }
    # Not assigned to WIJ: erased or not, it learns nothing (404), not even that they had one.
    for sid in signal_ids:
        assert (await gateway.person(sid, WIJ)).status_code == 404
