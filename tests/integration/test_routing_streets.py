"""The street projection: rolling 7/30/90-day windows by observation time, late and
out-of-order events in the right window, and threshold alerts with hysteresis."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts import topics
from tests.integration.test_routing_flow import START, Router, serve_routing
from tests.support import eventually

RULES = """\
version: "straten-1"
municipality: Groningen
rules:
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 48
thresholds:
  - id: wijkhub
    categorie: [overlast, vernieling]
    window_days: 30
    count: 3
    advice: Bespreek met politie, WIJ en de corporatie of een wijkhub in deze straat helpt.
"""


@pytest.fixture
async def router(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Router]:
    async with serve_routing(
        RULES,
        fresh_database,
        kafka_bootstrap,
        tmp_path,
        street="Wijkstraat",
        escalation_interval_s=3600,
    ) as running:
        yield running


async def deliver(router: Router, *observed: tuple[str, timedelta], at: datetime) -> None:
    """Send signals observed `ago` before `at`, in the order given; wait until all are routed."""
    sent = [
        router.signal(categorie, observed_at=at - ago, received_at=at)
        for categorie, ago in observed
    ]
    for signal in sent:
        await router.send(signal)
    await router.assignment(sent[-1].signal_id)  # same partition: the earlier ones came first


async def street(router: Router) -> dict[str, Any]:
    response = await router.http.get(
        f"/api/v1/streets/{router.street_key}", headers=router.operator
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def crossings(router: Router) -> list[dict[str, Any]]:
    rows = await router.fetch(
        "SELECT value FROM outbox WHERE topic = $1 AND key = $2 ORDER BY id",
        topics.STREETS_EVENTS,
        router.street_key.encode(),
    )
    return [json.loads(r["value"]) for r in rows]


async def test_late_and_out_of_order_events_land_in_their_window(router: Router) -> None:
    day = timedelta(days=1)
    await deliver(
        router,
        ("overlast", 1 * day),
        ("overlast", 100 * day),  # very late: counts only all-time
        ("vervuiling", 20 * day),
        ("zorg", 5 * day),
        ("overlast", 40 * day),
        ("vervuiling", 6 * day + timedelta(hours=23)),
        ("zorg", -2 * day),  # observed after "now" by this clock: not in any window yet
        at=START,
    )
    found = await street(router)
    assert found["counts"] == {"overlast": 3, "vervuiling": 2, "zorg": 2}
    assert found["total"] == 7
    assert found["windows"] == {
        "7": {"overlast": 1, "zorg": 1, "vervuiling": 1},
        "30": {"overlast": 1, "zorg": 1, "vervuiling": 2},
        "90": {"overlast": 2, "zorg": 1, "vervuiling": 2},
    }
    router.clock.now = START + 5 * day  # windows roll with the clock; totals do not
    later = await street(router)
    assert later["windows"]["7"] == {"overlast": 1, "zorg": 1}
    assert later["counts"] == found["counts"]

    buurt = await router.http.get("/api/v1/buurten/BU00140107", headers=router.operator)
    assert buurt.status_code == 200
    assert buurt.json()["counts"]["overlast"] >= 3
    assert (await crossings(router)) == []  # never three overlast/vernieling within 30 days


async def test_a_threshold_alerts_once_until_the_street_dropped_below_it(router: Router) -> None:
    day = timedelta(days=1)
    await deliver(router, ("overlast", 2 * day), ("vernieling", 45 * day), at=START)
    assert await crossings(router) == []

    # A late vernieling observed within the window makes three: the street crosses.
    await deliver(router, ("overlast", 3 * day), at=START)
    await deliver(router, ("vernieling", 29 * day), at=START)
    [first] = await eventually(lambda: crossings(router), what="first crossing")
    assert first["type"] == "nl.wijkaanpak.streets.threshold-crossed"
    assert first["id"] == f"threshold-{router.street_key}-wijkhub-1"
    assert first["data"]["counts"] == {"overlast": 2, "vernieling": 1}
    assert first["data"]["window_days"] == 30
    assert "wijkhub" in first["data"]["advice"]

    # Still above: no repeated alert.
    await deliver(router, ("overlast", 1 * day), ("vernieling", 0 * day), at=START)
    assert len(await crossings(router)) == 1

    # Forty days later one new incident finds the street below the threshold: re-armed.
    later = START + 40 * day
    router.clock.now = later
    await deliver(router, ("overlast", 1 * day), at=later)
    assert len(await crossings(router)) == 1
    await deliver(router, ("overlast", 2 * day), ("vernieling", 3 * day), at=later)
    events = await crossings(router)
    assert [e["id"] for e in events] == [
        f"threshold-{router.street_key}-wijkhub-1",
        f"threshold-{router.street_key}-wijkhub-2",
    ]
    assert events[1]["data"]["counts"] == {"overlast": 2, "vernieling": 1}
    stored = await router.fetch(
        "SELECT threshold_id, crossed_at FROM threshold_crossings WHERE street_key = $1"
        " ORDER BY id",
        router.street_key,
    )
    assert [(r["threshold_id"], r["crossed_at"]) for r in stored] == [
        ("wijkhub", START),
        ("wijkhub", later),
    ]
