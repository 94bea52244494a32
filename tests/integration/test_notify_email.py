"""E-mail subscriptions delivered to a real local SMTP server (aiosmtpd), in Dutch, privately."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage as Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from contracts import topics
from contracts.envelope import to_json_bytes
from services.notify.app import build
from tests.integration.test_notify_flow import Notify, assignment, settings_for
from tests.support import demo_registry, eventually, produce, running_app, unique
from wijkbus.infra import free_port

CANARY = "Kanarie-de-Vries"


@dataclass
class Mailbox:
    """What the local SMTP server received; can be told to refuse the next few messages."""

    port: int = 0
    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    refuse: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 even geduld"
        self.messages.append(
            (
                list(envelope.rcpt_tos),
                email.message_from_bytes(envelope.content, policy=email.policy.default),
            )
        )
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for rcpts, m in self.messages if address in rcpts]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
async def notify(
    fresh_database: str, kafka_bootstrap: str, mailbox: Mailbox
) -> AsyncIterator[Notify]:
    registry, creds = demo_registry()
    settings = settings_for(fresh_database, kafka_bootstrap, creds).model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": mailbox.port}
    )
    async with (
        running_app(build(settings, partners=registry)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Notify(http, creds, fresh_database, kafka_bootstrap, registry)


async def subscribe_mail(notify: Notify, address: str, street: str, partner: str | None) -> None:
    response = await notify.http.post(
        "/api/v1/subscriptions",
        json={
            "channel": "email",
            "email": address,
            "types": ["nl.wijkaanpak.routing.assigned"],
            "filters": {"street_key": street},
        },
        headers=notify.auth(partner),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["email"] == address and "signing_secret" not in created


def body_of(message: Message) -> str:
    return str(message.get_content())


async def test_an_assignment_mail_reaches_the_team_mailbox_in_dutch_without_personal_data(
    notify: Notify, mailbox: Mailbox
) -> None:
    street = unique("naam:groningen:straat")
    address = f"{unique('wijkteam')}@politie.example.nl"
    await subscribe_mail(notify, address, street, "politie-groningen")
    event = json.loads(to_json_bytes(assignment(street)))
    # Fields no routing event should carry, planted to prove the mail shows only what it names.
    event["data"].update(
        has_person=True,
        person={"name": CANARY, "phone": "0612345678"},
        description=f"{CANARY} woont op nummer 43",
    )
    mailbox.refuse = 1  # a transient SMTP refusal first: the delivery queue retries it
    await produce(
        notify.bootstrap, topics.ROUTING_EVENTS, json.dumps(event).encode(), key=street.encode()
    )
    [message] = await eventually(lambda: _mail(mailbox, address), what="the assignment mail")
    text = body_of(message)
    # A long subject is folded right after "Subject:"; unfolding leaves the fold's space.
    assert message["Subject"].strip() == f"Nieuw signaal voor uw team: overlast in {street}"
    assert message["X-Wijkbus-Event-Id"] == event["id"]
    assert "Beste collega's" in text and "aan uw organisatie toegewezen" in text
    assert event["data"]["signal_id"] in text
    assert "Bij dit signaal horen persoonsgegevens" in text
    for leak in (CANARY, "0612345678", "nummer 43"):
        assert leak not in text and leak not in str(message)
    await eventually(
        lambda: notify.fetch("SELECT id FROM notify.deliveries WHERE status = 'delivered'"),
        what="the delivery marked delivered",
    )
    attempts = await notify.fetch("SELECT status_code FROM notify.delivery_attempts ORDER BY id")
    assert [a["status_code"] for a in attempts] == [451, 250]
    assert len(mailbox.to(address)) == 1


async def _mail(mailbox: Mailbox, address: str) -> list[Message] | None:
    return mailbox.to(address) or None
