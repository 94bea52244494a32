"""Notify against the real broker and PostgreSQL, delivering to a real local HTTP receiver."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Request, Response

from contracts import topics
from contracts.envelope import CloudEvent, new_event, to_json_bytes
from contracts.events import ROUTING_ASSIGNED_TYPE, ResponderAssigned
from services.notify.app import NotifySettings, build
from services.notify.domain import TEST_EVENT_TYPE
from tests.support import demo_registry, eventually, produce, running_app, unique
from tools.devstack import LOOPBACK_CIDRS, DemoCredentials
from wijkbus.partners import PartnerRegistry, verify_signature

TOKEN = "Bearer receiver-token-3b7d"
POLICE = "politie-groningen"
CORP = "woonstichting-noord"


@dataclass(frozen=True)
class Hit:
    """One request the receiver got."""

    hook: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]

    @property
    def events(self) -> list[dict[str, Any]]:
        """The CloudEvents the request carried: one, or a batch's array of them."""
        parsed = json.loads(self.body)
        return parsed if isinstance(parsed, list) else [parsed]


@dataclass
class Receiver:
    """A partner back-office: answers each hook's events from a plan (then 204), records all."""

    url: str = ""
    plans: dict[str, list[int]] = field(default_factory=dict)
    on_test: dict[str, int] = field(default_factory=dict)
    delay_s: dict[str, float] = field(default_factory=dict)
    retry_after: dict[str, str] = field(default_factory=dict)  # a 429's Retry-After; else "1"
    failing_subjects: dict[str, int] = field(default_factory=dict)  # subject: 500s to answer
    hits: list[Hit] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    most_in_flight: dict[str, int] = field(default_factory=dict)

    def hook(self, plan: list[int] | None = None, *, on_test: int = 204) -> tuple[str, str]:
        """A new hook of this test's own: its name and callback URL."""
        name = unique("hook")
        self.plans[name], self.on_test[name] = list(plan or []), on_test
        return name, f"{self.url}/hook/{name}"

    def events(self, hook: str) -> list[Hit]:
        """What reached `hook`, test deliveries left out."""
        return [h for h in self.hits if h.hook == hook and not _is_test(h.events)]


def _is_test(events: list[dict[str, Any]]) -> bool:
    return len(events) == 1 and events[0]["type"] == TEST_EVENT_TYPE


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A real HTTP server on a free port."""
    recorded = Receiver()
    app = FastAPI()

    @app.post("/hook/{name}")
    async def hook(name: str, request: Request) -> Response:
        body = await request.body()
        recorded.hits.append(Hit(name, dict(request.headers), body, time.monotonic()))
        carried = Hit(name, {}, body, 0).events
        if _is_test(carried):
            status = recorded.on_test.get(name, 204)
            return Response(b"kapot" if status >= 300 else b"", status_code=status)
        busy = recorded.in_flight[name] = recorded.in_flight.get(name, 0) + 1
        recorded.most_in_flight[name] = max(busy, recorded.most_in_flight.get(name, 0))
        try:
            await asyncio.sleep(recorded.delay_s.get(name, 0))
        finally:
            recorded.in_flight[name] -= 1
        plan = recorded.plans.get(name) or []
        status = plan.pop(0) if plan else 204
        subject = carried[0].get("subject", "")
        if recorded.failing_subjects.get(subject, 0) > 0:
            recorded.failing_subjects[subject] -= 1
            status = 500
        headers = {"Retry-After": recorded.retry_after.get(name, "1")} if status == 429 else {}
        return Response(b"kapot" if status >= 300 else b"", status_code=status, headers=headers)

    async with running_app(app) as url:
        recorded.url = url
        yield recorded


@dataclass
class Notify:
    """A running notify and how to talk to it."""

    http: httpx.AsyncClient
    creds: DemoCredentials
    database_url: str
    bootstrap: str
    partners: PartnerRegistry

    def auth(self, partner: str | None = None) -> dict[str, str]:
        key = self.creds.api_keys[partner] if partner else self.creds.operator_token
        return {"Authorization": f"Bearer {key}"}

    async def subscribe(
        self, callback_url: str, partner: str | None = None, **body: Any
    ) -> httpx.Response:
        request = {
            "channel": "webhook",
            "callback_url": callback_url,
            "authorization": TOKEN,
            "types": [ROUTING_ASSIGNED_TYPE],
            **body,
        }
        return await self.http.post(
            "/api/v1/subscriptions", json=request, headers=self.auth(partner)
        )

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()


def settings_for(database_url: str, bootstrap: str, creds: DemoCredentials) -> NotifySettings:
    """Fast retries, so the journeys through backoff take a second, not minutes."""
    return NotifySettings(
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        operator_token=creds.operator_token,
        secret_key=creds.notify_secret_key,
        webhook_timeout_s=2.0,
        backoff_factor_s=0.05,
        backoff_base=2.0,
        delivery_max_attempts=4,
        delivery_poll_interval_s=0.5,
        allow_cidrs=LOOPBACK_CIDRS,  # the receivers of these tests listen on 127.0.0.1
        # Consumer groups of this database's own: instances on it share them, other tests do not.
        group_prefix=f"notify-{database_url.rsplit('/', 1)[-1]}",
    )


@pytest.fixture
async def notify(fresh_database: str, kafka_bootstrap: str) -> AsyncIterator[Notify]:
    registry, creds = demo_registry()
    settings = settings_for(fresh_database, kafka_bootstrap, creds)
    async with (
        running_app(build(settings, partners=registry)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Notify(http, creds, fresh_database, kafka_bootstrap, registry)


def assignment(street_key: str, partner: str = POLICE, signal_id: str = "") -> CloudEvent:
    """A routing.assigned CloudEvent for a street of the test's own (of a new signal unless
    `signal_id` names one: its subject)."""
    signal_id = signal_id or unique("sig")
    data = ResponderAssigned(
        signal_id=signal_id,
        partner_id=partner,
        categorie="overlast",
        street_key=street_key,
        buurt_code="BU00140107",
        rule_id="overlast-de-hoogte",
        ruleset_version="test",
        acknowledge_by=None,
        assigned_at=datetime.now(UTC),
    )
    return new_event(ROUTING_ASSIGNED_TYPE, "urn:nld:wijkbus:routing", data, subject=signal_id)


async def publish(notify: Notify, *events: CloudEvent, key: str = "street") -> None:
    """Publish on routing.events, all under one key so they keep their order."""
    for event in events:
        await produce(
            notify.bootstrap, topics.ROUTING_EVENTS, to_json_bytes(event), key=key.encode()
        )


async def delivered(receiver: Receiver, hook: str, count: int) -> list[Hit]:
    async def check() -> list[Hit] | None:
        hits = receiver.events(hook)
        return hits if len(hits) >= count else None

    return await eventually(check, what=f"{count} deliveries to {hook}")  # type: ignore[no-any-return]


async def test_subscribing_sends_a_signed_test_delivery_and_never_shows_the_token(
    notify: Notify, receiver: Receiver
) -> None:
    hook, url = receiver.hook()
    response = await notify.subscribe(url, filters={"street_key": unique("straat")})
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/api/v1/subscriptions/{created['id']}"
    [test] = [h for h in receiver.hits if h.hook == hook]
    assert test.event["type"] == TEST_EVENT_TYPE
    assert test.event["data"]["subscription_id"] == created["id"]
    assert test.headers["authorization"] == TOKEN
    assert test.headers["content-type"] == "application/cloudevents+json"
    secret = created["signing_secret"].encode()
    assert verify_signature(secret, test.body, test.headers["wijkbus-signature"])
    shown = await notify.http.get(f"/api/v1/subscriptions/{created['id']}", headers=notify.auth())
    listed = await notify.http.get("/api/v1/subscriptions", headers=notify.auth())
    for text in (response.text, shown.text, listed.text):
        assert "receiver-token" not in text
    assert "signing_secret" not in shown.json()
    [stored] = await notify.fetch("SELECT * FROM notify.subscriptions")
    assert b"receiver-token" not in stored["authorization_enc"]
    assert created["signing_secret"].encode() not in stored["signing_secret_enc"]


async def test_a_callback_that_fails_the_test_delivery_is_refused(
    notify: Notify, receiver: Receiver
) -> None:
    _, failing = receiver.hook(on_test=500)
    response = await notify.subscribe(failing)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "HTTP 500" in response.json()["detail"]
    assert "kapot" not in response.text  # the receiver's words are not shown to the caller
    unreachable = await notify.subscribe("http://127.0.0.1:9/hook")
    assert unreachable.status_code == 400
    assert "ConnectError" in unreachable.json()["detail"]
    assert await notify.fetch("SELECT id FROM notify.subscriptions") == []


async def test_an_invalid_subscription_lists_every_error(notify: Notify) -> None:
    response = await notify.subscribe(
        "ftp://example.nl/hook", channel="sms", types=[], filters={"buurt_code": "BU1"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"channel", "callback_url", "types", "filters.buurt_code"}


async def test_an_assignment_is_delivered_once_signed_and_in_order(
    notify: Notify, receiver: Receiver
) -> None:
    hook, url = receiver.hook()
    street = unique("straat")
    created = (await notify.subscribe(url, filters={"street_key": street})).json()
    first, second = assignment(street), assignment(street)
    await publish(notify, first, first, second)
    hits = await delivered(receiver, hook, 2)
    assert [h.event["id"] for h in hits] == [first.id, second.id]
    head = hits[0]
    assert head.body == to_json_bytes(first)
    assert head.headers["content-type"] == "application/cloudevents+json"
    assert head.headers["authorization"] == TOKEN
    secret = created["signing_secret"].encode()
    assert verify_signature(secret, head.body, head.headers["wijkbus-signature"])
    rows = await notify.fetch("SELECT status FROM notify.deliveries ORDER BY id")
    assert [r["status"] for r in rows] == ["delivered", "delivered"]


async def test_a_receiver_failing_three_times_then_succeeding_sees_one_event_id(
    notify: Notify, receiver: Receiver
) -> None:
    hook, url = receiver.hook([500, 503, 500])
    street = unique("straat")
    await notify.subscribe(url, filters={"street_key": street})
    event = assignment(street)
    await publish(notify, event)
    hits = await delivered(receiver, hook, 4)
    assert {h.event["id"] for h in hits} == {event.id}
    [row] = await eventually(
        lambda: notify.fetch("SELECT * FROM notify.deliveries WHERE status = 'delivered'"),
        what="the delivery marked delivered",
    )
    assert row["attempts"] == 4
    attempts = await notify.fetch(
        "SELECT status_code, latency_ms, error FROM notify.delivery_attempts ORDER BY id"
    )
    assert [a["status_code"] for a in attempts] == [500, 503, 500, 204]
    assert attempts[0]["error"] == "HTTP 500: kapot"
    assert all(a["latency_ms"] >= 0 for a in attempts)


async def test_429_waits_for_retry_after(notify: Notify, receiver: Receiver) -> None:
    hook, url = receiver.hook([429])
    street = unique("straat")
    await notify.subscribe(url, filters={"street_key": street})
    await publish(notify, assignment(street))
    refused, accepted = await delivered(receiver, hook, 2)
    assert accepted.at - refused.at >= 0.95


async def test_410_deactivates_the_subscription(notify: Notify, receiver: Receiver) -> None:
    gone_hook, gone_url = receiver.hook([410])
    other_hook, other_url = receiver.hook()
    street = unique("straat")
    gone = (await notify.subscribe(gone_url, filters={"street_key": street})).json()
    await notify.subscribe(other_url, filters={"street_key": street})
    await publish(notify, assignment(street))
    await delivered(receiver, gone_hook, 1)

    async def deactivated() -> bool:
        shown = await notify.http.get(f"/api/v1/subscriptions/{gone['id']}", headers=notify.auth())
        return bool(shown.json()["status"] == "deactivated")

    await eventually(deactivated, what="the subscription deactivated")
    later = assignment(street)
    await publish(notify, later)
    await delivered(receiver, other_hook, 2)
    assert len(receiver.events(gone_hook)) == 1
    queued = await notify.fetch(
        "SELECT count(*) AS n FROM notify.deliveries WHERE event_id = $1", later.id
    )
    assert queued[0]["n"] == 1


async def test_a_receiver_that_keeps_failing_becomes_a_dead_letter_on_the_dashboard(
    notify: Notify, receiver: Receiver
) -> None:
    hook, url = receiver.hook([500] * 10)
    street = unique("straat")
    await notify.subscribe(url, filters={"street_key": street})
    event = assignment(street)
    await publish(notify, event)
    await eventually(
        lambda: notify.fetch("SELECT id FROM notify.deliveries WHERE status = 'dead'"),
        what="a dead delivery",
    )
    assert len(receiver.events(hook)) == 4
    page = await notify.http.get("/dashboard", headers=notify.auth())
    assert page.status_code == 200
    assert '<html lang="nl">' in page.text
    assert "Niet af te leveren (dead letters)" in page.text
    assert "de ontvanger antwoordde HTTP 500 (na 4 pogingen)" in page.text
    assert "receiver-token" not in page.text


async def test_a_slow_subscriber_does_not_delay_another(notify: Notify, receiver: Receiver) -> None:
    slow_hook, slow_url = receiver.hook()
    fast_hook, fast_url = receiver.hook()
    receiver.delay_s[slow_hook] = 4.0
    street = unique("straat")
    await notify.subscribe(slow_url, filters={"street_key": street})
    await notify.subscribe(fast_url, filters={"street_key": street})
    await publish(notify, assignment(street), assignment(street))
    slow = (await delivered(receiver, slow_hook, 1))[0]
    fast = await delivered(receiver, fast_hook, 2)
    # Both events reached the healthy receiver while the slow one still held the first.
    assert fast[1].at - slow.at < 1.5


async def test_a_partner_manages_only_its_own_subscriptions(
    notify: Notify, receiver: Receiver
) -> None:
    _, url = receiver.hook()
    mine = await notify.subscribe(url, partner=POLICE)
    assert mine.status_code == 201, mine.text
    created = mine.json()
    assert created["owner"] == POLICE
    assert created["filters"]["partner"] == POLICE
    path = f"/api/v1/subscriptions/{created['id']}"
    assert (await notify.http.get(path, headers=notify.auth(CORP))).status_code == 404
    assert (await notify.http.delete(path, headers=notify.auth(CORP))).status_code == 404
    theirs = await notify.http.get("/api/v1/subscriptions", headers=notify.auth(CORP))
    assert theirs.json() == []
    everyone = await notify.http.get("/api/v1/subscriptions", headers=notify.auth())
    assert [s["id"] for s in everyone.json()] == [created["id"]]
    assert (await notify.http.get(path)).status_code == 401
    poaching = await notify.subscribe(url, partner=CORP, filters={"partner": POLICE})
    assert poaching.status_code == 400
    assert poaching.json()["errors"][0]["field"] == "filters.partner"
    assert (await notify.http.delete(path, headers=notify.auth(POLICE))).status_code == 204
    assert (await notify.http.get(path, headers=notify.auth(POLICE))).status_code == 404
