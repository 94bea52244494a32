"""Batched webhooks and delivery options: the array, the batch's own webhook-id, the bounds."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from services.notify import signatures
from services.notify.batches import batch_body
from services.notify.hosts import Host, HostClients
from services.notify.store import DueDelivery
from services.notify.subscription_requests import SubscriptionRequest
from tests.unit.test_notify_subscription_requests import VALID


def _delivery(n: int, body: bytes) -> DueDelivery:
    return DueDelivery(
        id=n,
        subscription_id=uuid.uuid4(),
        event_id=f"e{n}",
        body=body,
        attempts=0,
        next_attempt_at=None,  # type: ignore[arg-type]
        channel="webhook",
        callback_url="https://example.nl/hook",
        email_address=None,
        authorization_enc=b"",
        signing_secret_enc=b"",
        event_type="t",
    )


def test_a_batch_is_a_json_array_of_the_events_as_sent_alone_in_order() -> None:
    bodies = [b'{"id":"a","specversion":"1.0"}', b'{"id":"b","specversion":"1.0"}']
    body = batch_body([_delivery(n, b) for n, b in enumerate(bodies)])
    assert [e["id"] for e in json.loads(body)] == ["a", "b"]
    assert body == b"[" + b",".join(bodies) + b"]"


def test_a_batch_has_a_webhook_id_of_its_own_that_a_retry_keeps() -> None:
    sub, batch = uuid.uuid4(), uuid.uuid4()
    assert signatures.batch_message_id(sub, batch) == signatures.batch_message_id(sub, batch)
    assert signatures.batch_message_id(sub, batch) != signatures.message_id(sub, str(batch))
    assert signatures.batch_message_id(sub, batch) != signatures.batch_message_id(sub, uuid.uuid4())


def _request(**extra: Any) -> SubscriptionRequest:
    return SubscriptionRequest.model_validate({**VALID, **extra})


def test_delivery_options_default_to_a_few_in_flight_and_no_batches() -> None:
    request = _request()
    assert (request.max_in_flight, request.batch) == (8, None)
    batched = _request(batch={"max_events": 100, "max_wait_ms": 50})
    assert batched.batch is not None and batched.batch.max_events == 100


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"max_in_flight": 0}, "max_in_flight"),
        ({"max_in_flight": 65}, "max_in_flight"),
        ({"batch": {"max_events": 0, "max_wait_ms": 10}}, "batch.max_events"),
        ({"batch": {"max_events": 10, "max_wait_ms": -1}}, "batch.max_wait_ms"),
        ({"batch": {"max_events": 10}}, "batch.max_wait_ms"),
    ],
)
def test_out_of_bounds_options_are_refused(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _request(**extra)
    assert [".".join(map(str, e["loc"])) for e in caught.value.errors()] == [field]


async def test_each_host_gets_its_own_keep_alive_clients() -> None:
    hosts = HostClients()
    one = hosts.host("https://a.example.nl/hook/1")
    assert hosts.host("https://a.example.nl/other") is one
    assert hosts.host("https://b.example.nl/hook") is not one
    assert hosts.host("http://a.example.nl/hook") is not one
    await hosts.aclose()


async def test_a_host_fills_its_first_lane_before_opening_another_and_never_exceeds_its_slots() -> (
    None
):
    host = HostClients(per_lane=2, lanes=2).host("https://a.example.nl/hook")
    async with host.client() as first, host.client() as second:
        assert second is first  # the first lane's two connections
        async with host.client() as third:
            assert third is not first and host.lanes == 2
            async with host.client():
                fifth = asyncio.create_task(_enter(host))
                await asyncio.sleep(0.05)
                assert not fifth.done()  # four under way: the fifth waits for a slot
        assert await fifth is third  # the second lane's slot came free
    async with host.client() as quiet:
        assert quiet is first and host.lanes == 2
    await host.aclose()


async def _enter(host: Host) -> httpx.AsyncClient:
    async with host.client() as client:
        return client
