"""The initiator channel: a funded initiative's initiator gets a Dutch e-mail at the address
budget keeps sealed. Notify asks budget for it when it sends (budget logs the read) and keeps it
nowhere."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from contracts import topics
from contracts.envelope import new_event, to_json_bytes
from contracts.events import INITIATIVE_DECLINED_TYPE, INITIATIVE_FUNDED_TYPE, InitiativeFunded
from services.notify.app import build
from tests.integration import test_budget_support as budget_support
from tests.integration.test_notify_email import Mailbox, mailbox
from tests.integration.test_notify_flow import settings_for
from tests.support import demo_registry, eventually, produce, running_app

__all__ = ["mailbox"]  # the fixture, used here

ADDRESS = budget_support.CONTACT["email"]
FUNDED = {"channel": "initiator", "types": [INITIATIVE_FUNDED_TYPE]}


@pytest.fixture
async def buurt(fresh_database: str, kafka_bootstrap: str) -> AsyncIterator[budget_support.Buurt]:
    async with budget_support.running_buurt(fresh_database, kafka_bootstrap) as b:
        yield b


REGISTRY, CREDS = demo_registry()


@pytest.fixture
async def notify(
    buurt: budget_support.Buurt, kafka_bootstrap: str, mailbox: Mailbox
) -> AsyncIterator[httpx.AsyncClient]:
    """Notify on the same database and broker, asking that budget for initiators' addresses."""
    registry, creds = REGISTRY, CREDS
    settings = settings_for(buurt.database_url, kafka_bootstrap, creds).model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "budget_url": buurt.url,
            "budget_token": SecretStr(budget_support.TOKEN),
            "operator_token": budget_support.TOKEN,
        }
    )
    async with (
        running_app(build(settings, partners=registry)) as url,
        httpx.AsyncClient(base_url=url, timeout=30, headers=budget_support.OPERATOR) as http,
    ):
        yield http


async def notify_text(database_url: str) -> str:
    """Everything notify stored, as text: subscriptions, deliveries, attempts, dead letters."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "notify"})
    try:
        rows = []
        for table in ("subscriptions", "deliveries", "delivery_attempts", "dead_letters", "inbox"):
            rows += [str(dict(r)) for r in await conn.fetch(f"SELECT * FROM {table}")]
        return "\n".join(rows)
    finally:
        await conn.close()


async def delivery_states(database_url: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "notify"})
    try:
        rows = await conn.fetch("SELECT event_id, status FROM deliveries ORDER BY id")
        return [(r["event_id"], r["status"]) for r in rows]
    finally:
        await conn.close()


async def test_the_initiator_of_a_funded_initiative_is_mailed_and_notify_keeps_no_address(
    buurt: budget_support.Buurt, notify: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    subscribed = await notify.post("/api/v1/subscriptions", json=FUNDED)
    assert subscribed.status_code == 201, subscribed.text
    assert subscribed.json()["email"] is None

    bankje = await buurt.propose(2500)
    for code in buurt.codes[:3]:
        assert (await buurt.support(code, bankje)).status_code == 201

    async def mailed() -> list[object]:
        return mailbox.to(ADDRESS)

    [mail] = await eventually(mailed, what="the initiator's mail")
    assert mail["Subject"] == "Uw initiatief is gefinancierd"
    body = mail.get_content()
    assert "gefinancierd uit het buurtbudget" in body
    assert bankje in body
    assert budget_support.CONTACT["name"] not in body  # addressed, never named
    # Only the initiator: no team mailbox was told.
    assert [rcpts for rcpts, _ in mailbox.messages] == [[ADDRESS]]

    stored = await notify_text(buurt.database_url)
    assert "anna.devries" not in stored.lower()
    assert "Anna de Vries" not in stored
    states = await delivery_states(buurt.database_url)
    assert [status for _, status in states] == ["delivered"]


async def test_an_initiator_declined_on_the_dashboard_reads_the_reason_in_the_mail(
    buurt: budget_support.Buurt, notify: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    declined = {"channel": "initiator", "types": [INITIATIVE_DECLINED_TYPE]}
    assert (await notify.post("/api/v1/subscriptions", json=declined)).status_code == 201
    proposed = await buurt.http.post("/buurt/voorstel/indienen", data={
        "code": buurt.codes[0], "titel": "Vuurwerkshow", "kosten": "900", "naam": "Anna",
        "email": "anna.web@example.nl"})  # fmt: skip
    assert proposed.status_code == 200
    [row] = await buurt.fetch("SELECT initiative_id::text FROM initiatives")
    async with httpx.AsyncClient(base_url=buurt.url, timeout=30) as operator:
        await operator.post("/login", data={"token": budget_support.TOKEN})
        page = (await operator.get("/dashboard")).text
        csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        answer = await operator.post(
            f"/dashboard/initiatieven/{row['initiative_id']}/afwijzen",
            data={"csrf_token": csrf, "reason": "Vuurwerk valt buiten het buurtbudget."},
        )
        assert answer.status_code == 303

    async def mailed() -> list[object]:
        return mailbox.to("anna.web@example.nl")

    [mail] = await eventually(mailed, what="the initiator's mail")
    assert mail["Subject"] == 'Uw initiatief "Vuurwerkshow" is niet toegelaten'
    assert "Reden: Vuurwerk valt buiten het buurtbudget." in mail.get_content()


async def test_an_initiative_without_a_contact_goes_dead_at_once_with_its_reason(
    buurt: budget_support.Buurt, notify: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    assert (await notify.post("/api/v1/subscriptions", json=FUNDED)).status_code == 201
    unknown = str(uuid.uuid4())
    data = InitiativeFunded(
        initiative_id=unknown, buurt_code=buurt.buurt_code, funding_rule="pledge",
        cost_cents=2500, supporters=3, reason="de toezeggingen dekken de kosten",
        funded_at=datetime.now(UTC),
    )  # fmt: skip
    event = new_event(INITIATIVE_FUNDED_TYPE, "urn:nld:wijkbus:budget", data, subject=unknown)
    await produce(kafka_bootstrap, topics.BUDGET_EVENTS, to_json_bytes(event), key=b"x")

    async def dead() -> bool:
        return await delivery_states(buurt.database_url) == [(event.id, "dead")]

    await eventually(dead, what="the delivery dead-lettered")
    conn = await asyncpg.connect(buurt.database_url, server_settings={"search_path": "notify"})
    try:
        attempts = await conn.fetch("SELECT error FROM delivery_attempts")
    finally:
        await conn.close()
    assert [a["error"] for a in attempts] == [
        "no initiator: budget answered 404: no contact to mail"
    ]


async def test_only_an_operator_subscribes_initiators_and_only_to_initiatives(
    notify: httpx.AsyncClient,
) -> None:
    partner = {"Authorization": f"Bearer {CREDS.api_keys['woonstichting-noord']}"}
    by_partner = await notify.post("/api/v1/subscriptions", json=FUNDED, headers=partner)
    assert by_partner.status_code == 403
    assert by_partner.json()["detail"] == "only an operator may subscribe initiators"
    routing = await notify.post(
        "/api/v1/subscriptions", json={**FUNDED, "types": ["nl.wijkaanpak.routing.assigned"]}
    )
    assert routing.status_code == 400
    assert routing.json()["errors"][0]["field"] == "types"
    with_address = await notify.post(
        "/api/v1/subscriptions", json={**FUNDED, "email": "team@example.nl"}
    )
    assert with_address.status_code == 400
