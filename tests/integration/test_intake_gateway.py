"""Intake over HTTP and Kafka on the real broker and PostgreSQL: every answer of CONTRACT.md."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

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
    unique,
)
from tools.devstack import DEMO_PARTNERS, DemoCredentials
from wijkbus.partners import sign

CE = {"Content-Type": "application/cloudevents+json"}
SOURCE = {p["id"]: p["source"] for p in DEMO_PARTNERS}
CORP = "woonstichting-noord"


@dataclass
class Gateway:
    """A running intake and how to talk to it as a partner."""

    http: httpx.AsyncClient
    creds: DemoCredentials
    database_url: str
    bootstrap: str

    def auth(self, partner: str = CORP) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.creds.api_keys[partner]}"}

    async def post(self, body: Any, partner: str = CORP, **headers: str) -> httpx.Response:
        raw = body if isinstance(body, bytes) else encode(body)
        return await self.http.post(
            "/api/v1/events", content=raw, headers={**CE, **self.auth(partner), **headers}
        )

    async def fetchval(self, query: str, *args: Any) -> Any:
        conn = await asyncpg.connect(self.database_url)
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()


@pytest.fixture
async def gateway(fresh_database: str, kafka_bootstrap: str) -> AsyncIterator[Gateway]:
    registry, creds = demo_registry()
    settings = IntakeSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=kafka_bootstrap,
        operator_token=creds.operator_token,
        rate_per_s=50,
        rate_burst=600,
        group_prefix=unique("intake"),
    )
    async with (
        running_app(build(settings, partners=registry)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Gateway(http, creds, fresh_database, kafka_bootstrap)


async def test_http_signal_is_accepted_then_duplicate_then_conflict(gateway: Gateway) -> None:
    event = signal_event(SOURCE[CORP])
    first = await gateway.post(event)
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "accepted"
    again = await gateway.post(event)
    assert again.json() == {"signal_id": first.json()["signal_id"], "status": "duplicate"}
    changed = {**event, "data": {**event["data"], "severity": "hoog"}}
    conflict = await gateway.post(changed)
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/problem+json"
    assert await gateway.fetchval("SELECT count(*) FROM intake.signals") == 1


async def test_http_invalid_event_lists_every_error(gateway: Gateway) -> None:
    event = signal_event(SOURCE[CORP])
    event["data"]["location"]["postcode"] = "0714AB"
    event["data"]["severity"] = "extreem"
    del event["data"]["location"]["city"]
    response = await gateway.post(event)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"data.location.postcode", "data.severity", "data.location.city"} <= fields


def refusals(reason: str) -> float:
    """How many of CORP's events over HTTP were counted as refused for `reason`."""
    labels = {"partner": CORP, "channel": "http", "outcome": "refused", "reason": reason}
    return REGISTRY.get_sample_value("wijkbus_intake_events_total", labels) or 0.0


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ("no-key", 401, None),  # no partner to count it for: only the HTTP metrics have it
        ("unknown-key", 401, None),
        ("other-source", 403, "forbidden"),
        ("category", 403, "forbidden"),
        ("too-large", 413, "too-large"),
        ("content-type", 415, "unsupported-media"),
    ],
)
async def test_http_refusals_have_their_status_and_are_counted_per_partner_and_reason(
    gateway: Gateway, change: str, status: int, reason: str | None
) -> None:
    before = refusals(reason) if reason else 0.0
    event = signal_event(SOURCE[CORP])
    headers: dict[str, str] = {}
    if change == "no-key":
        response = await gateway.http.post("/api/v1/events", content=encode(event), headers=CE)
    else:
        if change == "unknown-key":
            headers["Authorization"] = "Bearer wb_not-a-key"
        elif change == "other-source":
            event["source"] = SOURCE["politie-groningen"]
        elif change == "category":
            event = signal_event(SOURCE[CORP], categorie="ondermijning")
        elif change == "too-large":
            event["data"]["description"] = "x" * 70_000
        elif change == "content-type":
            headers["Content-Type"] = "application/json"
        response = await gateway.post(event, **headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["API-Version"]
    assert await gateway.fetchval("SELECT count(*) FROM intake.signals") == 0
    if reason is not None:
        assert refusals(reason) == before + 1


async def test_http_rate_limit_answers_429_with_retry_after(gateway: Gateway) -> None:
    batch = [signal_event(SOURCE[CORP]) for _ in range(500)]
    first = await gateway.post(batch, **{"Content-Type": "application/cloudevents-batch+json"})
    assert first.status_code == 202
    before = refusals("rate-limited")
    second = await gateway.post(batch, **{"Content-Type": "application/cloudevents-batch+json"})
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) >= 1
    assert refusals("rate-limited") == before + 500  # every event the refused batch held


async def test_http_batch_answers_per_event_and_never_fails_whole(gateway: Gateway) -> None:
    good, bad = signal_event(SOURCE[CORP]), signal_event(SOURCE[CORP])
    bad["data"]["location"]["postcode"] = "nope"
    forbidden = signal_event(SOURCE[CORP], categorie="zorg")
    response = await gateway.post(
        [good, bad, good, forbidden], **{"Content-Type": "application/cloudevents-batch+json"}
    )
    assert response.status_code == 202
    statuses = [r["status"] for r in response.json()]
    assert statuses == ["accepted", "rejected", "duplicate", "rejected"]
    assert response.json()[1]["errors"][0]["field"] == "data.location.postcode"


async def test_signal_status_is_visible_to_sender_only(gateway: Gateway) -> None:
    signal_id = (await gateway.post(signal_event(SOURCE[CORP]))).json()["signal_id"]
    mine = await gateway.http.get(f"/api/v1/signals/{signal_id}", headers=gateway.auth())
    assert mine.status_code == 200
    assert mine.json()["status"] == "ontvangen"
    other = await gateway.http.get(
        f"/api/v1/signals/{signal_id}", headers=gateway.auth("politie-groningen")
    )
    assert other.status_code == 404


async def _send_kafka(
    gateway: Gateway,
    partner: str,
    body: bytes,
    *,
    secret: str | None = None,
    topic_partner: str | None = None,
) -> None:
    signing = (secret or gateway.creds.signing_secrets[partner]).encode()
    await produce(
        gateway.bootstrap,
        topics.partner_events(topic_partner or partner),
        body,
        headers=[
            ("wijkbus-signature", sign(signing, body).encode()),
            ("content-type", b"application/cloudevents+json"),
        ],
    )


async def _receipts_for(gateway: Gateway, partner: str, event_ids: set[str]) -> list[dict]:
    async def mine() -> list[dict]:
        found = await consume_json(
            gateway.bootstrap, topics.partner_receipts(partner), count=10**6, timeout=2
        )
        return [r for r in found if r["data"].get("event_id") in event_ids]

    return await eventually(mine, what=f"receipts for {sorted(event_ids)}")


async def test_kafka_same_event_three_times_gives_one_signal_and_two_duplicate_receipts(
    gateway: Gateway,
) -> None:
    event = signal_event(SOURCE[CORP])
    for _ in range(3):
        await _send_kafka(gateway, CORP, encode(event))

    async def three() -> list[dict] | None:
        receipts = await _receipts_for(gateway, CORP, {event["id"]})
        return receipts if len(receipts) >= 3 else None

    receipts = await eventually(three, what="three receipts")
    kinds = sorted(r["type"].rsplit(".", 1)[1] for r in receipts)
    assert kinds == ["duplicaat", "duplicaat", "geaccepteerd"]
    assert await gateway.fetchval("SELECT count(*) FROM intake.signals") == 1


async def test_kafka_refusals_get_a_rejected_receipt_naming_the_problem(gateway: Gateway) -> None:
    wrong_sig = signal_event(SOURCE[CORP])
    await _send_kafka(gateway, CORP, encode(wrong_sig), secret="not-the-secret")
    wrong_source = signal_event(SOURCE["politie-groningen"])
    await _send_kafka(gateway, CORP, encode(wrong_source))
    wrong_category = signal_event(SOURCE[CORP], categorie="ondermijning")
    await _send_kafka(gateway, CORP, encode(wrong_category))
    malformed = signal_event(SOURCE[CORP])
    malformed["data"]["location"]["openbareruimte_id"] = "123"
    await _send_kafka(gateway, CORP, encode(malformed))
    expected = {
        wrong_sig["id"]: "wijkbus-signature",
        wrong_source["id"]: "source",
        wrong_category["id"]: "type",
        malformed["id"]: "data.location.openbareruimte_id",
    }

    async def all_four() -> list[dict] | None:
        receipts = await _receipts_for(gateway, CORP, set(expected))
        return receipts if len(receipts) == 4 else None

    for receipt in await eventually(all_four, what="four rejected receipts"):
        assert receipt["type"] == "nl.wijkaanpak.ontvangst.geweigerd"
        assert receipt["data"]["errors"][0]["field"] == expected[receipt["data"]["event_id"]]
    assert await gateway.fetchval("SELECT count(*) FROM intake.signals") == 0
    assert (
        await gateway.fetchval(
            "SELECT count(*) FROM intake.outbox WHERE topic = $1", topics.SIGNALS_ACCEPTED
        )
        == 0
    )


async def test_a_partner_cannot_publish_on_another_partners_topic(gateway: Gateway) -> None:
    event = signal_event(SOURCE[CORP])
    # Signed with its own secret, but on the police's topic: the police's secret does not match.
    await _send_kafka(gateway, CORP, encode(event), topic_partner="politie-groningen")
    receipts = await _receipts_for(gateway, "politie-groningen", {event["id"]})
    assert receipts[0]["type"] == "nl.wijkaanpak.ontvangst.geweigerd"
    assert await gateway.fetchval("SELECT count(*) FROM intake.signals") == 0


async def _assign(gateway: Gateway, signal_id: str, partner: str) -> None:
    """Play routing: publish a routing.assigned event, as the routing service would."""
    assigned = ResponderAssigned(
        signal_id=signal_id,
        partner_id=partner,
        categorie="overlast",
        street_key="naam:groningen:asingastraat",
        buurt_code=None,
        rule_id="test",
        ruleset_version="t",
        acknowledge_by=None,
        assigned_at=datetime.now(UTC),
    )
    event = new_event(ROUTING_ASSIGNED_TYPE, "urn:test:routing", assigned, id=unique("as"))
    await produce(gateway.bootstrap, topics.ROUTING_EVENTS, to_json_bytes(event))


def _feedback(partner: str, signal_id: str, kind: str = "opgepakt") -> dict[str, Any]:
    data: dict[str, Any] = {"signal_id": signal_id, "note": "we gaan erheen"}
    if kind == "afgehandeld":
        data["outcome"] = "opgelost"
    return {
        "specversion": "1.0",
        "id": unique("fb"),
        "source": SOURCE[partner],
        "type": f"nl.wijkaanpak.signaal.{kind}",
        "data": data,
    }


async def test_feedback_only_from_the_assigned_partner(gateway: Gateway) -> None:
    signal_id = (await gateway.post(signal_event(SOURCE[CORP]))).json()["signal_id"]
    police = "politie-groningen"
    early = await gateway.post(_feedback(police, signal_id), partner=police)
    assert early.status_code == 403, "nobody is assigned yet"
    await _assign(gateway, signal_id, police)

    async def acknowledged() -> httpx.Response | None:
        answer = await gateway.post(_feedback(police, signal_id), partner=police)
        return answer if answer.status_code == 202 else None

    assert (await eventually(acknowledged, what="feedback accepted")).json()["status"] == (
        "accepted"
    )
    sender = await gateway.post(_feedback(CORP, signal_id))
    assert sender.status_code == 403
    assert sender.json()["errors"][0]["field"] == "data.signal_id"
    unknown = await gateway.post(_feedback(police, str(uuid4())), partner=police)
    assert unknown.status_code == 400
    done = await gateway.post(_feedback(police, signal_id, "afgehandeld"), partner=police)
    assert done.status_code == 202
    kinds = await gateway.fetchval(
        "SELECT count(*) FROM intake.outbox WHERE topic = $1", topics.SIGNALS_FEEDBACK
    )
    assert kinds == 2
    status = await gateway.http.get(f"/api/v1/signals/{signal_id}", headers=gateway.auth(police))
    assert status.json()["status"] == "afgehandeld"
