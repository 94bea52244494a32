"""Routing judges a rule's time of day by when the signal was observed: noise observed at night
and reported the next morning goes to the night's responder, on the real broker and database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.integration.test_routing_flow import Router, serve_routing

RULES = """\
version: "nacht-1"
municipality: Groningen
timezone: Europe/Amsterdam
rules:
  - id: geluid-nacht
    match:
      categorie: [overlast]
      subcategorie: [geluid]
      time_of_day: {from: "23:00", until: "07:00"}
    responder: politie-groningen
    acknowledge_within_hours: 2
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 48
"""
NIGHT = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)  # 02:30 in Groningen
MORNING = datetime(2026, 11, 21, 8, 15, tzinfo=UTC)  # 09:15 in Groningen


@pytest.fixture
async def router(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Router]:
    async with serve_routing(RULES, fresh_database, kafka_bootstrap, tmp_path) as running:
        yield running


async def test_noise_observed_at_night_and_sent_in_the_morning_is_a_night_signal(
    router: Router,
) -> None:
    night = router.signal("overlast", subcategory="geluid", observed_at=NIGHT, received_at=MORNING)
    day = router.signal("overlast", subcategory="geluid", observed_at=MORNING, received_at=MORNING)
    router.clock.now = MORNING
    for signal in (night, day):
        await router.send(signal)
    assigned_night = await router.assignment(night.signal_id)
    assigned_day = await router.assignment(day.signal_id)
    assert (assigned_night["rule_id"], assigned_night["partner_id"]) == (
        "geluid-nacht",
        "politie-groningen",
    )
    assert (assigned_day["rule_id"], assigned_day["partner_id"]) == (
        "standaard",
        "gemeente-groningen",
    )
