"""Edge cases a partner client written from the docs alone ran into: an eager Retry-After and a
subscription that could never hear anything."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from contracts.events import ROUTING_ASSIGNED_TYPE
from contracts.wijkhubs import WIJKHUB_ADVISED_TYPE
from services.notify.app import build
from tests.integration.test_notify_flow import (
    POLICE,
    Notify,
    Receiver,
    assignment,
    delivered,
    publish,
    receiver,
    settings_for,
)
from tests.support import demo_registry, eventually, running_app, unique

__all__ = ["receiver"]  # the fixture, used here

BACKOFF_S = 1.0  # the first retry waits 1 s, the second 2 s


@pytest.fixture
async def notify(fresh_database: str, kafka_bootstrap: str) -> AsyncIterator[Notify]:
    """Notify with a backoff of whole seconds, so a retry that ignores it shows."""
    registry, creds = demo_registry()
    settings = settings_for(fresh_database, kafka_bootstrap, creds).model_copy(
        update={"backoff_factor_s": BACKOFF_S}
    )
    async with (
        running_app(build(settings, partners=registry)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Notify(http, creds, fresh_database, kafka_bootstrap, registry)


@pytest.mark.parametrize("asked", ["0", "Thu, 01 Jan 2015 00:00:00 GMT"])
async def test_a_retry_after_of_now_waits_the_normal_backoff(
    notify: Notify, receiver: Receiver, asked: str
) -> None:
    hook, url = receiver.hook([429] * 10)
    receiver.retry_after[hook] = asked
    street = unique("straat")
    await notify.subscribe(url, filters={"street_key": street})
    await publish(notify, assignment(street))
    first, second = await delivered(receiver, hook, 2)
    assert second.at - first.at >= BACKOFF_S * 0.95
    [row] = await eventually(
        lambda: notify.fetch("SELECT status, attempts FROM notify.deliveries WHERE attempts >= 2"),
        what="the second attempt recorded",
    )
    # Without the floor all four attempts would be spent by now; the third waits another 2 s.
    assert (row["status"], row["attempts"]) == ("pending", 2)


async def test_a_partner_subscribing_to_what_never_names_a_partner_is_told_why(
    notify: Notify, receiver: Receiver
) -> None:
    _, url = receiver.hook()
    response = await notify.subscribe(url, POLICE, types=[WIJKHUB_ADVISED_TYPE])
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "subscription can never match"
    [error] = problem["errors"]
    assert error["field"] == "types.0"
    assert WIJKHUB_ADVISED_TYPE in error["message"] and "partner" in error["message"]
    assert await notify.fetch("SELECT id FROM notify.subscriptions") == []
    # An operator may hear advice, and a partner the hubs it takes part in.
    assert (await notify.subscribe(url, types=[WIJKHUB_ADVISED_TYPE])).status_code == 201
    hubs = await notify.subscribe(url, POLICE, types=["nl.wijkaanpak.wijkhub."])
    assert hubs.status_code == 201, hubs.text


async def test_a_type_prefix_no_event_type_starts_with_is_refused(
    notify: Notify, receiver: Receiver
) -> None:
    _, url = receiver.hook()
    typo = "nl.wijkaanpak.routing.asigned"
    response = await notify.subscribe(url, types=[ROUTING_ASSIGNED_TYPE, typo])
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "types.1" and typo in error["message"]
    budget_by_street = await notify.subscribe(
        url, types=["nl.wijkaanpak.budget."], filters={"street_key": unique("straat")}
    )
    assert budget_by_street.status_code == 400
    assert "street_key" in budget_by_street.json()["errors"][0]["message"]
