"""CloudEvents binary content mode into intake, sent by the `cloudevents` SDK (an independent
client, not our encoder), over HTTP and Kafka, on the real broker and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent

from contracts import topics
from services.intake.app import IntakeSettings, build
from tests.support import (
    consume_json,
    demo_registry,
    eventually,
    produce,
    running_app,
    signal_event,
    unique,
)
from tools.devstack import DEMO_PARTNERS, DemoCredentials
from wijkbus.partners import sign

SOURCE = {p["id"]: p["source"] for p in DEMO_PARTNERS}
CORP = "woonstichting-noord"


def sdk_event(change: Callable[[dict[str, Any]], None] = lambda e: None) -> CloudEvent:
    """A partner signal as the SDK's event, after `change` to its structured dict."""
    event = {**signal_event(SOURCE[CORP]), "subject": "melding 43"}
    change(event)
    data = event.pop("data")
    event["time"] = datetime.fromisoformat(event["time"])
    return CloudEvent(event, data)


def binary_signature(secret: bytes, headers: dict[str, bytes], value: bytes) -> str:
    """README.md's recipe, written out here rather than taken from the code under test."""
    lines = sorted(
        (name.lower().encode(), raw)
        for name, raw in headers.items()
        if name.lower().startswith("ce_") or name.lower() == "content-type"
    )
    signed = b"".join(name + b":" + raw + b"\n" for name, raw in lines) + b"\n" + value
    return "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()


@dataclass
class Intake:
    """A running intake and a partner's two ways in."""

    http: httpx.AsyncClient
    creds: DemoCredentials
    database_url: str
    bootstrap: str

    async def post(self, message: ce_http.HTTPMessage) -> httpx.Response:
        auth = {"Authorization": f"Bearer {self.creds.api_keys[CORP]}"}
        return await self.http.post(
            "/api/v1/events", content=message.body, headers={**message.headers, **auth}
        )

    async def send(self, message: ce_kafka.KafkaMessage, signature: str | None = None) -> None:
        secret = self.creds.signing_secrets[CORP].encode()
        binary = "ce_specversion" in message.headers
        signature = signature or (
            binary_signature(secret, message.headers, message.value)
            if binary
            else sign(secret, message.value)
        )
        headers = [*message.headers.items(), ("wijkbus-signature", signature.encode())]
        await produce(self.bootstrap, topics.partner_events(CORP), message.value, headers=headers)

    async def receipts(self, *event_ids: str) -> list[dict[str, Any]]:
        """The receipts for these events, once there is one for each, in the order written."""

        async def all_there() -> list[dict[str, Any]] | None:
            found = await consume_json(
                self.bootstrap, topics.partner_receipts(CORP), count=10**6, timeout=2
            )
            mine = [r for r in found if r["data"].get("event_id") in event_ids]
            return mine if len(mine) >= len(event_ids) else None

        return await eventually(all_there, what=f"receipts for {event_ids}")

    async def signals(self) -> int:
        conn = await asyncpg.connect(self.database_url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM intake.signals"))
        finally:
            await conn.close()


@pytest.fixture
async def intake(fresh_database: str, kafka_bootstrap: str) -> AsyncIterator[Intake]:
    registry, creds = demo_registry()
    settings = IntakeSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=kafka_bootstrap,
        operator_token=creds.operator_token,
        group_prefix=unique("intake"),
    )
    async with (
        running_app(build(settings, partners=registry)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Intake(http, creds, fresh_database, kafka_bootstrap)


async def test_http_binary_event_is_accepted_and_the_same_event_structured_is_its_duplicate(
    intake: Intake,
) -> None:
    event = sdk_event()
    binary = ce_http.to_binary_event(event)
    assert "ce-id" in binary.headers and binary.headers["content-type"] == "application/json"
    first = await intake.post(binary)
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "accepted"
    structured = await intake.post(ce_http.to_structured_event(event))
    assert structured.json() == {"signal_id": first.json()["signal_id"], "status": "duplicate"}
    again = await intake.post(binary)
    assert again.json() == {"signal_id": first.json()["signal_id"], "status": "duplicate"}
    assert await intake.signals() == 1


def _bad_data(event: dict[str, Any]) -> None:
    event["data"]["location"]["postcode"] = "0714AB"
    event["data"]["severity"] = "extreem"
    del event["data"]["location"]["city"]


def _other_source(event: dict[str, Any]) -> None:
    event["source"] = SOURCE["politie-groningen"]


def _unknown_type(event: dict[str, Any]) -> None:
    event["type"] = "nl.wijkaanpak.signaal.onbekend"


def _forbidden_category(event: dict[str, Any]) -> None:
    event["type"] = "nl.wijkaanpak.signaal.ondermijning"


INVALID = [_bad_data, _other_source, _unknown_type, _forbidden_category]


@pytest.mark.parametrize("change", INVALID, ids=lambda c: c.__name__.strip("_"))
async def test_http_binary_invalid_event_gets_the_answer_it_gets_structured(
    intake: Intake, change: Callable[[dict[str, Any]], None]
) -> None:
    binary = await intake.post(ce_http.to_binary_event(sdk_event(change)))
    structured = await intake.post(ce_http.to_structured_event(sdk_event(change)))
    assert binary.status_code in (400, 403), binary.text
    assert binary.status_code == structured.status_code
    assert binary.json()["errors"] == structured.json()["errors"]
    assert await intake.signals() == 0


async def test_http_binary_data_that_is_not_json_is_an_unsupported_content_type(
    intake: Intake,
) -> None:
    message = ce_http.to_binary_event(sdk_event())
    text = ce_http.HTTPMessage({**message.headers, "content-type": "text/plain"}, b"hallo")
    assert (await intake.post(text)).status_code == 415
    assert await intake.signals() == 0


async def test_kafka_binary_record_is_accepted_and_the_same_event_structured_is_its_duplicate(
    intake: Intake,
) -> None:
    event = sdk_event()
    binary = ce_kafka.to_binary_event(event)
    assert "ce_source" in binary.headers and json.loads(binary.value) == event.get_data()
    await intake.send(binary)
    (accepted,) = await intake.receipts(event.get_id())
    assert accepted["type"] == "nl.wijkaanpak.ontvangst.geaccepteerd", accepted
    await intake.send(ce_kafka.to_structured_event(event))
    await intake.send(binary)
    receipts = await intake.receipts(*[event.get_id()] * 3)
    assert [r["type"].rsplit(".", 1)[1] for r in receipts] == [
        "geaccepteerd",
        "duplicaat",
        "duplicaat",
    ]
    assert {r["data"]["signal_id"] for r in receipts} == {accepted["data"]["signal_id"]}
    assert await intake.signals() == 1


async def test_kafka_binary_invalid_record_gets_the_receipt_it_gets_structured(
    intake: Intake,
) -> None:
    pairs = [(sdk_event(change), sdk_event(change)) for change in INVALID]
    for binary, structured in pairs:
        await intake.send(ce_kafka.to_binary_event(binary))
        await intake.send(ce_kafka.to_structured_event(structured))
    ids = [e.get_id() for pair in pairs for e in pair]
    by_id = {r["data"]["event_id"]: r for r in await intake.receipts(*ids)}
    for binary, structured in pairs:
        got, expected = by_id[binary.get_id()], by_id[structured.get_id()]
        assert got["type"] == "nl.wijkaanpak.ontvangst.geweigerd"
        assert got["data"]["event_source"] == binary.get_source()
        assert got["data"]["errors"] == expected["data"]["errors"] != []
    assert await intake.signals() == 0


async def test_kafka_binary_record_with_a_bad_signature_is_refused(intake: Intake) -> None:
    wrong_secret, value_only, altered = sdk_event(), sdk_event(), sdk_event()
    message = ce_kafka.to_binary_event(wrong_secret)
    await intake.send(message, binary_signature(b"not-the-secret", message.headers, message.value))
    message = ce_kafka.to_binary_event(value_only)
    secret = intake.creds.signing_secrets[CORP].encode()
    await intake.send(message, sign(secret, message.value))  # structured mode's recipe
    message = ce_kafka.to_binary_event(altered)
    signature = binary_signature(secret, message.headers, message.value)
    # An attribute changed after signing: the signature binds the headers, not just the data.
    tampered = ce_kafka.KafkaMessage(
        {**message.headers, "ce_subject": b"iets anders"}, message.key, message.value
    )
    await intake.send(tampered, signature)
    receipts = await intake.receipts(wrong_secret.get_id(), value_only.get_id(), altered.get_id())
    for receipt in receipts:
        assert receipt["type"] == "nl.wijkaanpak.ontvangst.geweigerd"
        assert receipt["data"]["errors"][0]["field"] == "wijkbus-signature"
    assert await intake.signals() == 0
