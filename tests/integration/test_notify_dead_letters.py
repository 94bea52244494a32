"""Dead deliveries retried by an operator: from the dashboard (CSRF-safe) and over the API."""

from __future__ import annotations

import re

import httpx
import structlog
from prometheus_client import REGISTRY

from tests.integration import test_notify_flow as flow
from tests.integration.test_notify_flow import (
    CORP,
    POLICE,
    Notify,
    Receiver,
    assignment,
    delivered,
    publish,
)
from tests.support import eventually, unique

notify, receiver = flow.notify, flow.receiver  # the same running notify and receiver fixtures


async def dead_ids(notify: Notify, partner: str | None = None) -> list[int]:
    response = await notify.http.get("/api/v1/deliveries/dead", headers=notify.auth(partner))
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()]


async def two_dead_deliveries(notify: Notify, receiver: Receiver) -> tuple[str, list[int]]:
    """A partner's subscription whose receiver failed two events four times each."""
    hook, url = receiver.hook([500] * 8)
    street = unique("straat")
    created = await notify.subscribe(url, partner=POLICE, filters={"street_key": street})
    assert created.status_code == 201, created.text
    await publish(notify, assignment(street), assignment(street), key=street)

    async def both_dead() -> list[int] | None:
        ids = await dead_ids(notify)
        return ids if len(ids) == 2 else None

    ids = await eventually(both_dead, what="two dead deliveries")
    return hook, sorted(ids)


async def test_an_operator_retries_a_dead_delivery_from_the_dashboard_with_the_form_token(
    notify: Notify, receiver: Receiver
) -> None:
    hook, (first, _) = await two_dead_deliveries(notify, receiver)
    async with httpx.AsyncClient(base_url=str(notify.http.base_url), timeout=30) as browser:
        login = await browser.post("/login", data={"token": notify.creds.operator_token})
        assert login.status_code == 303
        page = await browser.get("/dashboard")
        assert "Opnieuw proberen" in page.text
        match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert match is not None
        assert notify.creds.operator_token not in page.text
        path = f"/dashboard/deliveries/{first}/retry"
        forged = await browser.post(path, data={})  # a cross-site form would carry the cookie only
        assert forged.status_code == 403
        wrong = await browser.post(path, data={"csrf_token": "0" * 64})
        assert wrong.status_code == 403
        done = await browser.post(path, data={"csrf_token": match.group(1)})
        assert done.status_code == 303
        assert done.headers["location"] == "/dashboard#dead"
    hits = await delivered(receiver, hook, 9)
    assert hits[-1].event["id"] == hits[0].event["id"]  # the same event, under its own id
    assert first not in await dead_ids(notify)


async def test_a_dead_delivery_is_retried_over_the_api_by_its_owner_or_an_operator(
    notify: Notify, receiver: Receiver
) -> None:
    hook, (first, second) = await two_dead_deliveries(notify, receiver)
    assert await dead_ids(notify, CORP) == []
    assert sorted(await dead_ids(notify, POLICE)) == [first, second]
    others = await notify.http.post(f"/api/v1/deliveries/{first}/retry", headers=notify.auth(CORP))
    assert others.status_code == 404
    anonymous = await notify.http.post(f"/api/v1/deliveries/{first}/retry")
    assert anonymous.status_code == 401
    for delivery_id, who in ((first, POLICE), (second, None)):
        response = await notify.http.post(
            f"/api/v1/deliveries/{delivery_id}/retry", headers=notify.auth(who)
        )
        assert response.status_code == 202, response.text
        assert response.json() == {"id": delivery_id, "status": "pending"}
    again = await notify.http.post(f"/api/v1/deliveries/{first}/retry", headers=notify.auth())
    assert again.status_code in (202, 404)  # 404 once it is no longer dead
    hits = await delivered(receiver, hook, 10)
    ok = [h.event["id"] for h in hits[8:]]
    assert len(set(ok)) == 2

    async def none_dead() -> bool:
        return await dead_ids(notify) == []

    await eventually(none_dead, what="no dead deliveries left")


async def test_dead_deliveries_are_counted_and_logged_per_subscription(
    notify: Notify, receiver: Receiver
) -> None:
    with structlog.testing.capture_logs() as logged:
        _, ids = await two_dead_deliveries(notify, receiver)
    response = await notify.http.get("/api/v1/deliveries/dead", headers=notify.auth())
    [subscription] = {d["subscription_id"] for d in response.json() if d["id"] in ids}
    labels = {"channel": "webhook", "subscription": subscription}
    assert REGISTRY.get_sample_value("wijkbus_notify_dead_letters_total", labels) == 2
    attempts = {
        verdict: REGISTRY.get_sample_value(
            "wijkbus_notify_delivery_attempts_total", {**labels, "verdict": verdict}
        )
        for verdict in ("retry", "dead")
    }
    assert attempts == {"retry": 6, "dead": 2}  # four attempts each, the last one dead
    dead = [e for e in logged if e["event"] == "dead letter"]
    assert [(e["log_level"], e["subscription_id"], e["status_code"]) for e in dead] == [
        ("error", subscription, 500)
    ] * 2
    failed = [e for e in logged if e["event"] == "not delivered"]
    assert len(failed) == 6 and all(e["subscription_id"] == subscription for e in failed)
