"""Webhooks go to public addresses only (plus what an operator allows), checked at every send,
and a receiver's answer is never shown to the partner who chose the URL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from services.notify.app import build
from services.notify.crypto import new_signing_secret
from services.notify.targets import AddressPolicy
from services.notify.webhook import WebhookSender
from tests.integration.test_notify_flow import Notify, settings_for
from tests.support import demo_registry, running_app
from wijkbus.networks import parse_cidrs

CORP = "woonstichting-noord"
CANARY = "intern-geheim-7f3a9c"  # what an internal service would answer


@dataclass
class Internal:
    """A service that should be out of a partner's reach; it answers with a secret."""

    url: str = ""
    hits: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
async def internal() -> AsyncIterator[Internal]:
    found = Internal()
    app = FastAPI()

    @app.post("/{path:path}")
    async def anything(path: str, request: Request) -> Response:
        found.hits.append(dict(request.headers))
        status = 500 if path.startswith("fail") else 204
        body = f"{CANARY} " * 40 if status == 500 else b""
        return Response(body, status_code=status)

    async with running_app(app) as url:
        found.url = url
        yield found


async def _notify(fresh_database: str, kafka_bootstrap: str, allow: str) -> AsyncIterator[Notify]:
    registry, creds = demo_registry()
    settings = settings_for(fresh_database, kafka_bootstrap, creds).model_copy(
        update={"allow_cidrs": allow}
    )
    async with (
        running_app(build(settings, partners=registry)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Notify(http, creds, fresh_database, kafka_bootstrap, registry)


@pytest.fixture
async def public_only(fresh_database: str, kafka_bootstrap: str) -> AsyncIterator[Notify]:
    """Notify as deployed: NOTIFY_ALLOW_CIDRS empty."""
    async for notify in _notify(fresh_database, kafka_bootstrap, ""):
        yield notify


@pytest.fixture
async def loopback_allowed(fresh_database: str, kafka_bootstrap: str) -> AsyncIterator[Notify]:
    """Notify as the dev stack runs it: loopback allowed."""
    async for notify in _notify(fresh_database, kafka_bootstrap, "127.0.0.0/8,::1/128"):
        yield notify


def _callback_errors(response: httpx.Response) -> list[str]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [e["message"] for e in response.json()["errors"] if e["field"] == "callback_url"]


async def test_a_partner_cannot_subscribe_a_loopback_callback(
    public_only: Notify, internal: Internal
) -> None:
    port = internal.url.rsplit(":", 1)[1]
    for url in (f"http://127.0.0.1:{port}/x", f"http://localhost:{port}/x"):
        response = await public_only.subscribe(url, partner=CORP)
        [message] = _callback_errors(response)
        assert "loopback" in message
    assert internal.hits == []  # refused before anything was sent
    assert await public_only.fetch("SELECT id FROM notify.subscriptions") == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00::1]/x",
        "http://10.0.0.1/x",
        "http://0.0.0.0:80/x",
        "http://[::ffff:169.254.169.254]/x",
    ],
)
async def test_internal_callbacks_are_refused_outside_the_allowed_networks(
    loopback_allowed: Notify, url: str
) -> None:
    [message] = _callback_errors(await loopback_allowed.subscribe(url, partner=CORP))
    assert "which notify does not send to" in message


async def test_the_receivers_answer_is_never_shown_only_its_status(
    loopback_allowed: Notify, internal: Internal
) -> None:
    response = await loopback_allowed.subscribe(f"{internal.url}/fail", partner=CORP)
    assert _callback_errors(response) == ["HTTP 500"]
    assert "HTTP 500" in response.json()["detail"]
    assert CANARY not in response.text
    assert len(internal.hits) == 1


SECRET = new_signing_secret()


async def test_the_address_is_checked_again_at_every_send(internal: Internal) -> None:
    """DNS rebinding: a name that resolved to an allowed address now resolves inside."""
    answers = ["127.0.0.1"]

    async def dns(host: str, port: int) -> list[str]:
        return list(answers)

    port = internal.url.rsplit(":", 1)[1]
    url = f"http://hooks.partner.example:{port}/in"
    async with httpx.AsyncClient() as client:
        sender = WebhookSender(client, 2.0, AddressPolicy(parse_cidrs("127.0.0.0/8")), lookup=dns)
        body = json.dumps({"type": "t"}).encode()
        first = await sender.post(url, "Bearer t", SECRET, body, "msg_1")
        assert first.status_code == 204, first.error
        assert internal.hits[0]["host"] == f"hooks.partner.example:{port}"
        answers[:] = ["127.0.0.1", "169.254.169.254"]
        second = await sender.post(url, "Bearer t", SECRET, body, "msg_1")
    assert second.status_code is None
    assert second.error is not None and "link-local" in second.error
    assert len(internal.hits) == 1
