"""Edge cases a partner client written from the docs alone ran into: an eager Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.notify.app import build
from tests.integration.test_notify_flow import (
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
