"""Retention (AVG) on the real broker and PostgreSQL: expired personal data and signals go."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from services.intake.app import IntakeSettings, build
from services.intake.ledger_acts import new_ledger_key
from services.intake.retention import Keep
from tests.integration.test_intake_gateway import _feedback
from tests.integration.test_intake_privacy import CORP, SOURCE, WIJ, Gateway, canary_person
from tests.support import demo_registry, encode, eventually, running_app, signal_event, unique
from tools.cli import app as wijkbus_cli
from wijkbus.vault import Vault, new_master_key

CE = {"Content-Type": "application/cloudevents+json"}
POLICY = {
    "huurachterstand": Keep(personal_data_days=183, signal_days=5 * 365),
    "default": Keep(personal_data_days=365, signal_days=5 * 365),
}
LEDGER_KEY = new_ledger_key()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def retaining(
    fresh_database: str, kafka_bootstrap: str
) -> AsyncIterator[tuple[Gateway, Clock, Any]]:
    registry, creds = demo_registry()
    clock = Clock()
    settings = IntakeSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=kafka_bootstrap,
        operator_token=creds.operator_token,
        group_prefix=unique("intake"),
        seal_interval_s=0.1,
        retention_policy=POLICY,
        retention_interval_s=3600,  # the first round runs at start; the test runs the others
        ledger_key=LEDGER_KEY,
    )
    app = build(
        settings, partners=registry, clock=clock, vault=Vault.from_setting(new_master_key())
    )
    async with running_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield Gateway(http, creds, fresh_database, kafka_bootstrap), clock, app


async def wijkbus(*args: str, database_url: str) -> tuple[int, str]:
    result = await asyncio.to_thread(
        CliRunner().invoke,
        wijkbus_cli,
        list(args),
        env={"DATABASE_URL": database_url, "INTAKE_LEDGER_KEY": LEDGER_KEY, "COLUMNS": "200"},
    )
    return result.exit_code, result.output


async def test_expired_personal_data_is_destroyed_then_the_signal_anonymised_and_the_trail_says_so(
    retaining: tuple[Gateway, Clock, Any],
) -> None:
    gateway, clock, app = retaining
    retainer = app.state.background.retainer
    person = canary_person()
    event = signal_event(SOURCE[CORP], categorie="huurachterstand", person=person)
    answer = await gateway.http.post(
        "/api/v1/events", content=encode(event), headers={**CE, **gateway.auth(CORP)}
    )
    assert answer.status_code == 202, answer.text
    signal_id = answer.json()["signal_id"]
    other = signal_event(SOURCE[CORP], categorie="huurachterstand", person=canary_person())
    unresolved = (
        await gateway.http.post(
            "/api/v1/events", content=encode(other), headers={**CE, **gateway.auth(CORP)}
        )
    ).json()["signal_id"]
    await gateway.assign(signal_id, WIJ)

    async def resolved() -> bool:
        done = await gateway.http.post(
            "/api/v1/events",
            content=encode(_feedback(WIJ, signal_id, "afgehandeld")),
            headers={**CE, **gateway.auth(WIJ)},
        )
        return done.status_code == 202

    await eventually(resolved, what="WIJ's afgehandeld accepted")
    assert (await gateway.person(signal_id, WIJ)).status_code == 200
    resolved_at = clock.now

    clock.now = resolved_at + timedelta(days=182)  # not yet
    assert (await retainer.run_once()).persons == 0
    assert (await gateway.person(signal_id, WIJ)).status_code == 200

    clock.now = resolved_at + timedelta(days=184)
    applied = await retainer.run_once()
    assert (applied.persons, applied.subjects_shredded, applied.signals_anonymised) == (1, 1, 0)
    gone = await gateway.person(signal_id, WIJ)
    assert gone.status_code == 410
    sealed = await gateway.fetch(
        "SELECT signal_id::text AS id FROM intake.vault_persons WHERE sealed IS NOT NULL"
    )
    assert [r["id"] for r in sealed] == [unresolved]  # never resolved: kept

    published = (
        "SELECT count(*) AS n FROM intake.outbox WHERE topic IN ('signals.accepted',"
        " 'signals.feedback') AND strpos(convert_from(value, 'UTF8'), $1) > 0"
    )
    assert (await gateway.fetch(published, signal_id))[0]["n"] == 2  # accepted, afgehandeld
    clock.now = resolved_at + timedelta(days=5 * 365 + 1)
    applied = await retainer.run_once()
    assert (applied.persons, applied.signals_anonymised) == (0, 1)
    [signal] = await gateway.fetch(
        "SELECT street, street_key, anonymised_at FROM intake.signals WHERE signal_id::text = $1",
        signal_id,
    )
    assert (signal["street"], signal["street_key"]) == ("", "geanonimiseerd")
    assert signal["anonymised_at"] == clock.now
    # Nothing left in intake's log that a republish could send with the signal's street.
    assert (await gateway.fetch(published, signal_id))[0]["n"] == 0
    assert (await retainer.run_once()).signals_anonymised == 0  # once

    code, output = await wijkbus("audit", "verify", database_url=gateway.database_url)
    assert code == 0, output  # each redaction is a signed act: the chain still holds
    redactions = await gateway.fetch(
        "SELECT a.n, a.at, e.redacted_at, e.seq FROM intake.ledger_acts a"
        " JOIN intake.event_log e USING (position) WHERE a.kind = 'redaction' ORDER BY a.n"
    )
    assert len(redactions) == 2  # accepted and afgehandeld; the unresolved signal keeps its rows
    assert all(r["at"] == r["redacted_at"] == clock.now for r in redactions)
    assert "signatures checked against the keys beside them" not in output  # the trusted key
    code, output = await wijkbus(
        "audit", "trail", signal_id, "--format", "json", database_url=gateway.database_url
    )
    assert code == 0, output
    steps = json.loads(output)["steps"]
    destroyed = [s for s in steps if s["what"] == "persoonsgegevens vernietigd"]
    assert destroyed[0]["detail"] == (
        "bewaartermijn huurachterstand: persoonsgegevens 183 dagen na afhandeling"
    )
    assert destroyed[0]["at"] == (resolved_at + timedelta(days=184)).isoformat()
    anonymised = [s for s in steps if s["what"] == "melding geanonimiseerd"]
    assert (
        anonymised[0]["detail"]
        == "bewaartermijn huurachterstand: melding 1825 dagen na afhandeling"
    )
    assert person["name"] not in output

    # The redaction's time is under its signature: moving it by hand is evident.
    first = redactions[0]
    await gateway.fetch(
        "UPDATE intake.event_log SET redacted_at = redacted_at - interval '1 day' WHERE seq = $1",
        first["seq"],
    )
    code, output = await wijkbus("audit", "verify", database_url=gateway.database_url)
    assert code == 1, output
    assert f"its redacted_at is not the time redaction act {first['n']} signed" in output
