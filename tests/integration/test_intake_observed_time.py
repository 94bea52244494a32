"""Intake refuses a signal observed in the future (beyond its tolerance), over HTTP and Kafka,
naming `data.observed_at`; rules judge signals by that time, so it must not lie ahead."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from services.intake.app import IntakeSettings, build
from tests.integration.test_intake_gateway import (
    CORP,
    SOURCE,
    Gateway,
    _receipts_for,
    _send_kafka,
    gateway,
)
from tests.support import demo_registry, encode, signal_event

__all__ = ["gateway"]  # the gateway fixture, used here

BATCH = {"Content-Type": "application/cloudevents-batch+json"}


def _observed_in(delta: timedelta) -> dict[str, object]:
    return signal_event(SOURCE[CORP], observed_at=(datetime.now(UTC) + delta).isoformat())


async def test_a_signal_observed_an_hour_ahead_is_refused_naming_observed_at(
    gateway: Gateway,
) -> None:
    response = await gateway.post(_observed_in(timedelta(hours=1)))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["data.observed_at"]
    assert await gateway.fetchval("SELECT count(*) FROM intake.signals") == 0


async def test_a_clock_a_minute_ahead_is_tolerated_and_a_batch_refuses_only_the_future_one(
    gateway: Gateway,
) -> None:
    items = [_observed_in(timedelta(minutes=1)), _observed_in(timedelta(minutes=30))]
    response = await gateway.post(json.dumps(items).encode(), **BATCH)
    assert response.status_code == 202, response.text
    first, second = response.json()
    assert first["status"] == "accepted"
    assert second["status"] == "rejected"
    assert [e["field"] for e in second["errors"]] == ["data.observed_at"]
    assert await gateway.fetchval("SELECT count(*) FROM intake.signals") == 1


async def test_over_kafka_a_future_observation_gets_a_refused_receipt(gateway: Gateway) -> None:
    event = _observed_in(timedelta(days=1))
    await _send_kafka(gateway, CORP, encode(event))
    [receipt] = await _receipts_for(gateway, CORP, {event["id"]})
    assert receipt["type"] == "nl.wijkaanpak.ontvangst.geweigerd"
    assert receipt["data"]["errors"][0]["field"] == "data.observed_at"


def test_the_tolerance_is_a_setting_of_five_minutes_by_default() -> None:
    registry, _ = demo_registry()
    default = build(IntakeSettings(database_url="postgresql://unused"), partners=registry)
    assert default.state.intake.future_tolerance == timedelta(minutes=5)
    wider = IntakeSettings(database_url="postgresql://unused", observed_at_tolerance_s=900)
    assert build(wider, partners=registry).state.intake.future_tolerance == timedelta(minutes=15)
