"""Input that once made intake answer 500 (and log the event, person included): each is now a
precise refusal, and the person's name is in no log line."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_intake_gateway import CORP, SOURCE, Gateway, gateway
from tests.support import service_logging, signal_event

__all__ = ["gateway"]  # the gateway fixture, used here

BATCH = {"Content-Type": "application/cloudevents-batch+json"}
CANARY = "Canarie-Pietersen"


def person(name: str) -> dict[str, object]:
    return {"name": name, "email": "huurder@example.nl", "arrears_cents": 125000}


async def test_a_deeply_nested_batch_is_refused_as_a_whole(gateway: Gateway) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    response = await gateway.post(deep, **BATCH)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "nested too deeply" in response.json()["errors"][0]["message"]


async def test_a_lone_surrogate_rejects_only_its_event_at_its_field(gateway: Gateway) -> None:
    good = signal_event(SOURCE[CORP])
    bad = signal_event(SOURCE[CORP], description="kapotte lantaarn \ud800")
    response = await gateway.post(json.dumps([good, bad]).encode(), **BATCH)
    assert response.status_code == 202, response.text
    first, second = response.json()
    assert first["status"] == "accepted"
    assert second["status"] == "rejected"
    assert [e["field"] for e in second["errors"]] == ["data.description"]
    single = await gateway.post(json.dumps(bad).encode())
    assert single.status_code == 400
    assert [e["field"] for e in single.json()["errors"]] == ["data.description"]


async def test_refused_input_with_a_person_leaves_no_trace_of_them_in_the_logs(
    gateway: Gateway, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [
        signal_event(SOURCE[CORP], categorie="huurachterstand", person=person(f"{CANARY}\ud800")),
        signal_event(SOURCE[CORP], categorie="huurachterstand", person=person(f"{CANARY}\udfff")),
    ]
    nested = signal_event(SOURCE[CORP], categorie="huurachterstand", person=person(CANARY))
    nested_batch = '[{"deep": ' + "[" * 100_000 + "]" * 100_000 + "}," + json.dumps(nested) + "]"
    capsys.readouterr()
    with service_logging("intake", keep=caplog.handler):
        answers = [
            await gateway.post(json.dumps(events).encode(), **BATCH),
            await gateway.post(json.dumps(events[0]).encode()),
            await gateway.post(nested_batch.encode(), **BATCH),
        ]
    assert [a.status_code for a in answers] == [202, 400, 400]
    assert [e["status"] for e in answers[0].json()] == ["rejected", "rejected"]
    assert answers[0].json()[0]["errors"][0]["field"] == "data.person.name"
    for answer in answers:
        assert CANARY not in answer.text
    assert CANARY not in capsys.readouterr().out
    assert CANARY not in caplog.text
    assert all(r.levelno < 40 for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert await gateway.fetchval("SELECT count(*) FROM intake.signals") == 0
