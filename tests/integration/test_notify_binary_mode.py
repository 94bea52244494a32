"""A webhook subscription in CloudEvents binary content mode, read by the `cloudevents` SDK's
from_http in a real receiver, on the real broker and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from fastapi import FastAPI, Request, Response

from services.notify.domain import TEST_EVENT_TYPE
from tests.integration.test_notify_flow import TOKEN, Notify, assignment, notify, publish
from tests.support import eventually, running_app, unique

__all__ = ["notify"]  # the notify fixture, used here


@dataclass(frozen=True)
class Arrival:
    """One request as the receiver got it and the event the SDK read from it."""

    headers: dict[str, str]
    body: bytes
    event: BaseCloudEvent


@dataclass
class SdkReceiver:
    """A partner back-office that reads every request with the SDK's from_http."""

    url: str = ""
    arrivals: list[Arrival] = field(default_factory=list)

    def events(self, event_type: str) -> list[Arrival]:
        return [a for a in self.arrivals if a.event.get_type() == event_type]


@pytest.fixture
async def sdk_receiver() -> AsyncIterator[SdkReceiver]:
    recorded = SdkReceiver()
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        event = ce_http.from_http(ce_http.HTTPMessage(headers, body), JSONFormat())
        recorded.arrivals.append(Arrival(headers, body, event))
        return Response(status_code=204)

    async with running_app(app) as url:
        recorded.url = url
        yield recorded


def binary_signature(secret: bytes, headers: dict[str, str], body: bytes) -> str:
    """README.md's recipe, written out here rather than taken from the code under test."""
    lines = sorted(
        (name.lower(), value)
        for name, value in headers.items()
        if name.lower().startswith("ce-") or name.lower() == "content-type"
    )
    signed = "".join(f"{name}:{value}\n" for name, value in lines).encode() + b"\n" + body
    return "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()


async def test_a_binary_subscription_gets_its_events_as_ce_headers_and_the_data_as_body(
    notify: Notify, sdk_receiver: SdkReceiver
) -> None:
    street = unique("naam:groningen:straat")
    response = await notify.subscribe(
        f"{sdk_receiver.url}/hook", content_mode="binary", filters={"street_key": street}
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["content_mode"] == "binary"
    [test] = sdk_receiver.events(TEST_EVENT_TYPE)
    assert test.headers["ce-specversion"] == "1.0"
    assert test.event.get_data()["subscription_id"] == created["id"]

    sent = assignment(street)
    await publish(notify, sent)

    async def arrived() -> list[Arrival] | None:
        return sdk_receiver.events(sent.type) or None

    [hit] = await eventually(arrived, what="the binary delivery")
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["authorization"] == TOKEN
    assert {"ce-id", "ce-source", "ce-type", "ce-time", "ce-subject"} <= set(hit.headers)
    event = hit.event
    assert (event.get_id(), event.get_source(), event.get_subject()) == (
        sent.id,
        sent.source,
        sent.subject,
    )
    assert event.get_time() == sent.time
    assert event.get_data() == sent.data
    secret = created["signing_secret"].encode()
    assert hit.headers["wijkbus-signature"] == binary_signature(secret, hit.headers, hit.body)


async def test_a_subscription_is_structured_unless_it_asks_for_binary(
    notify: Notify, sdk_receiver: SdkReceiver
) -> None:
    response = await notify.subscribe(
        f"{sdk_receiver.url}/hook", filters={"street_key": unique("naam:groningen:straat")}
    )
    assert response.status_code == 201, response.text
    assert response.json()["content_mode"] == "structured"
    [test] = sdk_receiver.events(TEST_EVENT_TYPE)
    assert test.headers["content-type"] == "application/cloudevents+json"
    assert not any(name.startswith("ce-") for name in test.headers)
    email = await notify.http.post(
        "/api/v1/subscriptions",
        json={
            "channel": "email",
            "email": "team@example.nl",
            "types": ["nl.wijkaanpak."],
            "content_mode": "binary",
        },
        headers=notify.auth(),
    )
    assert email.status_code == 400
    assert "content_mode" in email.text
