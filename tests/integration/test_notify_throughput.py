"""Order per signal, several deliveries in flight, two instances sharing the work, batches."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.notify import claims, signatures, store
from services.notify.app import build
from services.notify.batches import BATCH_CONTENT_TYPE
from tests.integration.test_notify_flow import (
    Hit,
    Notify,
    Receiver,
    assignment,
    delivered,
    publish,
    receiver,
    settings_for,
)
from tests.support import demo_registry, eventually, running_app, unique
from wijkbus import db
from wijkbus.partners import verify_signature

__all__ = ["receiver"]  # the fixture, used here


@pytest.fixture
async def notify(fresh_database: str, kafka_bootstrap: str) -> AsyncIterator[Notify]:
    """Notify with a backoff long enough (1 s, then 2 s) to see what goes on meanwhile."""
    registry, creds = demo_registry()
    settings = settings_for(fresh_database, kafka_bootstrap, creds).model_copy(
        update={"backoff_factor_s": 1.0, "delivery_max_attempts": 5}
    )
    async with (
        running_app(build(settings, partners=registry)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Notify(http, creds, fresh_database, kafka_bootstrap, registry)


def ids(hits: list[Hit]) -> list[str]:
    """The event ids the hits carried, in the order they arrived."""
    return [e["id"] for h in hits for e in h.events]


async def _settled(notify: Notify, count: int) -> bool:
    rows = await notify.fetch(
        "SELECT count(*) FILTER (WHERE status = 'delivered') AS done, count(*) AS n"
        " FROM notify.deliveries"
    )
    return bool(rows[0]["done"] == rows[0]["n"] == count)


async def test_one_signals_deliveries_stay_in_order_while_another_signal_is_in_backoff(
    notify: Notify, receiver: Receiver
) -> None:
    hook, url = receiver.hook()
    street, stuck, other = unique("straat"), unique("sig"), unique("sig")
    assert (await notify.subscribe(url, filters={"street_key": street})).status_code == 201
    receiver.failing_subjects[stuck] = 2  # 500, 500: backoff of 1 s, then 2 s
    first, second = assignment(street, signal_id=stuck), assignment(street, signal_id=stuck)
    others = [assignment(street, signal_id=other) for _ in range(3)]
    await publish(notify, first, second, *others)
    await delivered(receiver, hook, 7)
    await eventually(lambda: _settled(notify, 5), what="all five delivered")
    hits = receiver.events(hook)
    answered_first = [n for n, h in enumerate(hits) if h.event["id"] == first.id][-1]
    before = ids(hits[:answered_first])
    # The other signal went on, in order, while the stuck one waited out its backoff ...
    assert before.count(first.id) == 2
    assert [i for i in before if i != first.id] == [e.id for e in others]
    # ... and the stuck signal's second event was sent only after its first was delivered.
    assert ids(hits[answered_first:]) == [first.id, second.id]


async def test_several_deliveries_of_one_subscription_are_in_flight_within_its_bound(
    notify: Notify, receiver: Receiver
) -> None:
    hook, url = receiver.hook()
    receiver.delay_s[hook] = 0.3
    street = unique("straat")
    response = await notify.subscribe(url, filters={"street_key": street}, max_in_flight=3)
    assert response.json()["max_in_flight"] == 3
    await publish(notify, *[assignment(street) for _ in range(9)])
    await delivered(receiver, hook, 9)
    assert receiver.most_in_flight[hook] == 3


async def test_two_instances_on_one_database_send_every_delivery_exactly_once(
    notify: Notify, receiver: Receiver
) -> None:
    hook, url = receiver.hook()
    receiver.delay_s[hook] = 0.01
    street = unique("straat")
    await notify.subscribe(url, filters={"street_key": street}, max_in_flight=4)
    signals = [unique("sig") for _ in range(20)]
    events = [assignment(street, signal_id=signals[n % 20]) for n in range(120)]
    by_signal = {
        s: [e.id for n, e in enumerate(events) if n % 20 == i] for i, s in enumerate(signals)
    }
    second = build(
        settings_for(notify.database_url, notify.bootstrap, notify.creds), partners=notify.partners
    )
    async with running_app(second):
        await publish(notify, *events)
        await delivered(receiver, hook, 120)
        await eventually(lambda: _settled(notify, 120), what="every delivery delivered")
    counted = Counter(ids(receiver.events(hook)))
    assert counted == Counter(e.id for e in events)  # each id once, none missing
    assert receiver.most_in_flight[hook] <= 4  # the bound holds across both instances
    for mine in by_signal.values():  # and each signal's events came in the order published
        assert [i for i in ids(receiver.events(hook)) if i in set(mine)] == mine


async def _subscribe_batched(notify: Notify, url: str, street: str, **batch: Any) -> dict[str, Any]:
    response = await notify.subscribe(url, filters={"street_key": street}, batch=batch)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["batch"] == batch
    return created


async def test_a_batch_of_n_arrives_as_one_post_with_n_cloudevents(
    notify: Notify, receiver: Receiver
) -> None:
    hook, url = receiver.hook()
    street = unique("straat")
    created = await _subscribe_batched(notify, url, street, max_events=5, max_wait_ms=5000)
    events = [assignment(street) for _ in range(5)]
    await publish(notify, *events)
    [batch] = await delivered(receiver, hook, 1)
    assert batch.headers["content-type"] == BATCH_CONTENT_TYPE
    assert ids([batch]) == [e.id for e in events]
    assert all(e["specversion"] == "1.0" for e in batch.events)
    assert verify_signature(
        created["signing_secret"].encode(), batch.body, batch.headers["wijkbus-signature"]
    )
    singles = {signatures.message_id(uuid.UUID(created["id"]), e.id) for e in events}
    assert batch.headers["webhook-id"] not in singles  # a batch is a message of its own
    await eventually(lambda: _settled(notify, 5), what="the whole batch delivered")


async def test_a_batch_that_gets_a_500_is_retried_as_the_same_batch(
    notify: Notify, receiver: Receiver
) -> None:
    hook, url = receiver.hook([500])
    street = unique("straat")
    await _subscribe_batched(notify, url, street, max_events=10, max_wait_ms=300)
    events = [assignment(street) for _ in range(3)]
    await publish(notify, *events)
    refused, accepted = await delivered(receiver, hook, 2)
    assert accepted.body == refused.body  # the same events, in the same order
    assert ids([refused]) == [e.id for e in events]  # three, as the wait ran out short of ten
    assert accepted.headers["webhook-id"] == refused.headers["webhook-id"]
    assert accepted.at - refused.at >= 0.95  # after the backoff
    await eventually(lambda: _settled(notify, 3), what="the batch delivered")
    attempts = await notify.fetch("SELECT attempts FROM notify.deliveries")
    assert [a["attempts"] for a in attempts] == [2, 2, 2]


async def test_batch_is_refused_for_an_email_subscription(notify: Notify) -> None:
    response = await notify.http.post(
        "/api/v1/subscriptions",
        json={
            "channel": "email",
            "email": "team@example.nl",
            "types": ["nl.wijkaanpak.routing."],
            "batch": {"max_events": 10, "max_wait_ms": 100},
        },
        headers=notify.auth(),
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["batch"]


async def test_one_claim_takes_a_backlog_as_several_batches_keeping_a_subject_in_one(
    notify: Notify, receiver: Receiver
) -> None:
    _, url = receiver.hook()
    street = unique("straat")
    created = await _subscribe_batched(notify, url, street, max_events=5, max_wait_ms=60000)
    sub = created["id"]
    # Queued an hour ahead, so the running worker leaves them to this claim.
    later = datetime.now(UTC) + timedelta(hours=1)
    subjects = [unique("sig") for _ in range(7)]
    queued = [(sub, "t", f"e{n}", "t", b"{}", subjects[n % 7]) for n in range(40)]
    pool = await db.create_pool(notify.database_url, "notify")
    try:
        async with pool.acquire() as conn:
            await store.add_deliveries(conn, queued, later)

            async def claimed() -> claims.Claim | None:
                # None while the worker's own claim holds the subscription (SKIP LOCKED).
                taken = await claims.claim(conn, later, timedelta(minutes=1), 64)
                return taken if taken.sends else None

            taken = await eventually(claimed, what="a claim of the backlog")
            # Every subject now has a batch in flight: its later deliveries wait for it.
            assert (await claims.claim(conn, later, timedelta(minutes=1), 64)).sends == []
    finally:
        await pool.close()
    batches = [[d.event_id for d in send] for send in taken.sends]
    assert len(batches) >= 2 and all(len(b) == 5 for b in batches)  # full ones, several at once
    # Batches in flight at once may arrive in any order: a subject is in one of them only.
    homes = {subjects[int(e[1:]) % 7]: n for n, b in enumerate(batches) for e in b}
    assert all(homes[subjects[int(e[1:]) % 7]] == n for n, b in enumerate(batches) for e in b)
    assert [e for b in batches for e in b] == sorted(
        (e for b in batches for e in b), key=lambda e: int(e[1:])
    )  # and each batch, and the batches, in delivery order
