"""Wijkhub events through a real notify: the partners taking part get their webhook and their
Dutch e-mail, other partners nothing; a wijkhub type prefix hears the whole lifecycle."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import topics
from contracts.envelope import CloudEvent, new_event, to_json_bytes
from contracts.wijkhubs import (
    WIJKHUB_ADVISED_TYPE,
    WIJKHUB_DECLINED_TYPE,
    WIJKHUB_EVENT_TYPES,
    WIJKHUB_OPENED_TYPE,
    WijkhubOpened,
)
from tests.integration.test_notify_email import Mailbox, body_of, mailbox, notify
from tests.integration.test_notify_flow import CORP, POLICE, Notify, Receiver, receiver
from tests.support import eventually, produce, unique
from tests.unit.test_contracts_events import WIJKHUB_SAMPLES
from wijkbus.partners import verify_signature

__all__ = ["mailbox", "notify", "receiver"]  # the fixtures, used here

ROUTING = "urn:nld:wijkbus:routing"
HUB_TYPES = "nl.wijkaanpak.wijkhub."
ADDRESS = "Asingastraat 43"
CANARY = "Kanarie-de-Vries"  # who opened the hub: a person, never in a mail


def new_hub_id() -> str:
    """A hub id of the test's own."""
    return f"hub-{uuid.uuid4().hex}"


def opened(hub_id: str, street_key: str, partners: list[str]) -> CloudEvent:
    """A wijkhub.opened CloudEvent: a hub in a street of the test's own."""
    now = datetime.now(UTC)
    data = WijkhubOpened(
        hub_id=hub_id,
        street_keys=(street_key,),
        buurt_code="BU00140107",
        city="Groningen",
        address=ADDRESS,
        starts_at=now,
        ends_at=now + timedelta(weeks=8),
        partners=tuple(partners),
        contact_role="wijkagent",
        aims="Overlast terugdringen en bewoners bereiken.",
        opened_by=CANARY,
        opened_at=now,
    )
    return new_event(WIJKHUB_OPENED_TYPE, ROUTING, data, subject=hub_id)


def lifecycle(hub_id: str, street_key: str) -> list[CloudEvent]:
    """One event of each wijkhub type, from the contract's samples, for this test's hub."""
    events = []
    for event_type, model in WIJKHUB_EVENT_TYPES.items():
        sample: dict[str, Any] = {**WIJKHUB_SAMPLES[event_type]}
        if "hub_id" in sample:
            sample.update(hub_id=hub_id, street_keys=[street_key])
        else:
            sample.update(street_key=street_key)
        if "evaluation" in sample:
            sample["evaluation"] = {**sample["evaluation"], "hub_id": hub_id}
        advice = event_type in (WIJKHUB_ADVISED_TYPE, WIJKHUB_DECLINED_TYPE)
        subject = street_key if advice else hub_id
        events.append(new_event(event_type, ROUTING, model.model_validate(sample), subject=subject))
    return events


async def publish(notify: Notify, *events: CloudEvent) -> None:
    """Publish on wijkhubs.events, keyed as routing keys them: the hub, or the street."""
    for event in events:
        assert event.subject is not None
        await produce(
            notify.bootstrap,
            topics.WIJKHUBS_EVENTS,
            to_json_bytes(event),
            key=event.subject.encode(),
        )


async def subscribe_hook(notify: Notify, url: str, partner: str | None) -> dict[str, Any]:
    """A webhook on every wijkhub type; a partner's own is narrowed to that partner."""
    response = await notify.subscribe(url, partner, types=[HUB_TYPES])
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def subscribe_mail(notify: Notify, address: str, partner: str) -> None:
    response = await notify.http.post(
        "/api/v1/subscriptions",
        json={"channel": "email", "email": address, "types": [WIJKHUB_OPENED_TYPE]},
        headers=notify.auth(partner),
    )
    assert response.status_code == 201, response.text
    assert response.json()["filters"]["partner"] == partner


async def test_an_opened_hub_reaches_the_partner_taking_part_by_webhook_and_mail_only(
    notify: Notify, receiver: Receiver, mailbox: Mailbox
) -> None:
    police_hook, police_url = receiver.hook()
    corp_hook, corp_url = receiver.hook()
    police = await subscribe_hook(notify, police_url, POLICE)
    corp = await subscribe_hook(notify, corp_url, CORP)
    assert (police["filters"]["partner"], corp["filters"]["partner"]) == (POLICE, CORP)
    address = f"{unique('wijkteam')}@politie.example.nl"
    await subscribe_mail(notify, address, POLICE)
    event = opened(new_hub_id(), unique("naam:groningen:straat"), [POLICE])

    await publish(notify, event)

    [hit] = await eventually(lambda: _hits(receiver, police_hook, event.id), what="the webhook")
    assert hit.body == to_json_bytes(event)
    secret = police["signing_secret"].encode()
    assert verify_signature(secret, hit.body, hit.headers["wijkbus-signature"])
    [message] = await eventually(lambda: _mail(mailbox, address), what="the wijkhub mail")
    assert message["Subject"].strip() == f"Wijkhub geopend: {ADDRESS}, Groningen"
    assert message["X-Wijkbus-Event-Id"] == event.id
    text = body_of(message)
    assert f"Adres:           {ADDRESS}, Groningen" in text
    assert f"Partners:        {POLICE}" in text
    assert CANARY not in str(message)
    # Fanned out in one transaction: the two rows for the partner taking part are all there is.
    rows = await notify.fetch(
        "SELECT subscription_id::text AS s, status FROM notify.deliveries WHERE event_id = $1",
        event.id,
    )
    assert corp["id"] not in {r["s"] for r in rows} and len(rows) == 2
    await eventually(lambda: _all_delivered(notify, event.id), what="both delivered")
    assert await _hits(receiver, corp_hook, event.id) is None


async def test_a_wijkhub_prefix_without_filters_hears_all_five_types(
    notify: Notify, receiver: Receiver
) -> None:
    hook, url = receiver.hook()
    await subscribe_hook(notify, url, None)  # an operator's: no filter
    events = lifecycle(new_hub_id(), unique("naam:groningen:straat"))

    await publish(notify, *events)

    async def mine() -> dict[str, str] | None:
        ids = {e.id for e in events}
        got = {
            h.event["id"]: h.event["type"] for h in receiver.events(hook) if h.event["id"] in ids
        }
        return got if len(got) == len(events) else None

    got = await eventually(mine, what="all five wijkhub events")
    assert sorted(got.values()) == sorted(WIJKHUB_EVENT_TYPES)


async def _hits(receiver: Receiver, hook: str, event_id: str) -> list[Any] | None:
    return [h for h in receiver.events(hook) if h.event["id"] == event_id] or None


async def _mail(mailbox: Mailbox, address: str) -> list[Any] | None:
    return mailbox.to(address) or None


async def _all_delivered(notify: Notify, event_id: str) -> bool:
    rows = await notify.fetch("SELECT status FROM notify.deliveries WHERE event_id = $1", event_id)
    return bool(rows) and all(r["status"] == "delivered" for r in rows)
