"""Notify restarted in the middle of retries: nothing lost, nothing delivered twice."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from services.notify.app import build
from services.notify.domain import TEST_EVENT_TYPE
from tests.integration.test_notify_flow import TOKEN, Notify, assignment, publish, settings_for
from tests.support import demo_registry, eventually, running_app, unique


@dataclass
class FlakyReceiver:
    """Answers 503 while `failing`, then 204; records every answer it gave."""

    url: str = ""
    failing: bool = True
    answers: list[tuple[str, int]] = field(default_factory=list)

    def delivered(self) -> list[str]:
        """Event ids in the order they were answered 2xx."""
        return [event_id for event_id, status in self.answers if status < 300]


@pytest.fixture
async def flaky() -> AsyncIterator[FlakyReceiver]:
    receiver = FlakyReceiver()
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        event = json.loads(await request.body())
        if event["type"] == TEST_EVENT_TYPE:
            return Response(status_code=204)
        status = 503 if receiver.failing else 204
        receiver.answers.append((event["id"], status))
        return Response(status_code=status)

    async with running_app(app) as url:
        receiver.url = f"{url}/hook"
        yield receiver


async def test_restarting_notify_mid_retries_loses_nothing_and_delivers_each_id_once(
    fresh_database: str, kafka_bootstrap: str, flaky: FlakyReceiver
) -> None:
    registry, creds = demo_registry()
    settings = settings_for(fresh_database, kafka_bootstrap, creds).model_copy(
        update={"backoff_factor_s": 0.2, "backoff_cap_s": 0.5, "delivery_max_attempts": 50}
    )
    street, signal = unique("straat"), unique("sig")
    # One signal's events: those are kept in order (different signals' may overtake each other).
    before = [assignment(street, signal_id=signal) for _ in range(3)]
    while_down = [assignment(street, signal_id=signal) for _ in range(2)]
    first = build(settings, partners=registry)
    async with running_app(first) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        notify = Notify(http, creds, fresh_database, kafka_bootstrap, registry)
        created = await notify.subscribe(
            flaky.url, filters={"street_key": street}, authorization=TOKEN
        )
        assert created.status_code == 201, created.text
        await publish(notify, *before, key=street)
        await eventually(lambda: _answered(flaky, 2), what="two failed attempts")
    # notify is down, still owing all three; two more events arrive meanwhile.
    await publish(notify, *while_down, key=street)
    second = build(settings, partners=registry)
    async with running_app(second):
        # The new instance takes over the retries before the receiver recovers.
        seen = len(flaky.answers)
        await eventually(lambda: _answered(flaky, seen + 1), what="a retry by the new instance")
        flaky.failing = False
        await eventually(lambda: _answered_ok(flaky, 5), what="all five delivered")
        await eventually(lambda: _all_recorded(notify, 5), what="five recorded delivered")
    expected = [e.id for e in before + while_down]
    assert flaky.delivered() == expected  # each once, in order, under its own id
    assert {event_id for event_id, _ in flaky.answers} == set(expected)
    rows = await notify.fetch("SELECT status, event_id FROM notify.deliveries ORDER BY id")
    assert [r["event_id"] for r in rows] == expected
    assert {r["status"] for r in rows} == {"delivered"}


async def _answered(receiver: FlakyReceiver, count: int) -> bool:
    return len(receiver.answers) >= count


async def _answered_ok(receiver: FlakyReceiver, count: int) -> bool:
    return len(receiver.delivered()) >= count


async def _all_recorded(notify: Notify, count: int) -> bool:
    rows = await notify.fetch(
        "SELECT count(*) AS n FROM notify.deliveries WHERE status = 'delivered'"
    )
    return bool(rows[0]["n"] == count)
