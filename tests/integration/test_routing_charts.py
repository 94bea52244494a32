"""The routing dashboard's charts count what the database holds: incidents per week of
observation per categorie and per buurt (named where WIJKBUS_BUURTEN names it), and per week of
assignment the share taken up by its deadline among those that can be judged."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from services.routing import chart_data
from tests.integration.test_routing_flow import START, Router, serve_routing
from tests.support import unique

ZONE = ZoneInfo("Europe/Amsterdam")
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
RULES = """\
version: "grafiek-1"
municipality: Groningen
rules:
  - id: overlast-politie
    match: {categorie: [overlast]}
    responder: politie-groningen
    acknowledge_within_hours: 8
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 48
"""
# START is Friday 20 November 2026: its week began on Monday the 16th.
THIS_WEEK, LAST_WEEK, SIX_WEEKS_AGO = date(2026, 11, 16), date(2026, 11, 9), date(2026, 10, 5)


@asynccontextmanager
async def routing_with_buurten(
    rules: str, database_url: str, bootstrap: str, tmp_path: Path, **settings: Any
) -> AsyncIterator[Router]:
    """serve_routing, with WIJKBUS_BUURTEN naming BU00140107 De Hoogte."""
    buurten = tmp_path / "buurten.csv"
    buurten.write_text("buurt_code,buurt_name\nBU00140107,De Hoogte\n")
    async with serve_routing(
        rules, database_url, bootstrap, tmp_path, buurten_file=buurten, **settings
    ) as running:
        yield running


@pytest.fixture
async def router(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Router]:
    async with routing_with_buurten(
        RULES,
        fresh_database,
        kafka_bootstrap,
        tmp_path,
        street="Grafiekstraat",
        escalation_interval_s=3600,
    ) as running:
        yield running


async def routed(router: Router, *signals: tuple[str, timedelta, str]) -> list[str]:
    """Send (categorie, observed this long before START, buurt) signals; wait until routed."""
    sent = [
        router.signal(categorie, observed_at=START - ago, received_at=START, buurt_code=buurt)
        for categorie, ago, buurt in signals
    ]
    for signal in sent:
        await router.send(signal)
    for signal in sent:
        await router.assignment(signal.signal_id)
    return [s.signal_id for s in sent]


async def test_charts_count_incidents_per_week_and_the_share_taken_up_in_time(
    router: Router,
) -> None:
    hoogte = await routed(
        router,
        ("overlast", HOUR, "BU00140107"),
        ("overlast", 8 * DAY, "BU00140107"),
        ("vernieling", 8 * DAY, "BU00140107"),
        ("vernieling", 40 * DAY, "BU00140107"),
    )
    elsewhere = dataclasses.replace(router, street=unique("Anderestraat"))
    await routed(elsewhere, ("overlast", 2 * DAY, "BU00149999"))
    await router.feedback(hoogte[0], "politie-groningen", "opgepakt", START + HOUR)
    await router.assignment(hoogte[0], "opgepakt")
    now = START + 9 * HOUR  # the other two overlast signals are past their 8 hours
    router.clock.now = now

    conn = await asyncpg.connect(router.database_url, server_settings={"search_path": "routing"})
    try:
        weeks, per_categorie = await chart_data.incidents_per_week(conn, now, ZONE, "categorie")
        _, per_buurt = await chart_data.incidents_per_week(conn, now, ZONE, "buurt")
        _, street = await chart_data.incidents_per_week(
            conn, now, ZONE, "categorie", router.street_key
        )
        _, shares, judged = await chart_data.sla_per_week(conn, now, ZONE)
    finally:
        await conn.close()
    assert len(weeks) == 12 and weeks[-1] == THIS_WEEK
    at = {week: n for n, week in enumerate(weeks)}

    def weekly(**counts: int) -> list[int]:
        found = [0] * 12
        for name, n in counts.items():
            found[at[{"this": THIS_WEEK, "last": LAST_WEEK, "six": SIX_WEEKS_AGO}[name]]] = n
        return found

    assert per_categorie == {
        "overlast": weekly(this=2, last=1),
        "vernieling": weekly(last=1, six=1),
    }
    assert per_buurt == {"BU00140107": weekly(this=1, last=2, six=1), "BU00149999": weekly(this=1)}
    assert street == {"overlast": weekly(this=1, last=1), "vernieling": weekly(last=1, six=1)}
    # Assigned this week: three overlast with 8 hours (one taken up in time, two late); the
    # vernieling have 48 hours still running, so they cannot be judged yet.
    assert judged[-1] == 3 and shares[-1] == pytest.approx(100 / 3)
    assert shares[:-1] == [None] * 11

    page = (await router.http.get("/dashboard", headers=router.operator)).text
    buurt_chart = page[page.index('id="per-buurt-figuur"') :]
    assert '<th class="num">BU00149999</th><th class="num">De Hoogte</th>' in buurt_chart
    sla = page[page.index('id="sla-per-week-figuur"') :]
    assert re.search(r"<td>16 nov</td><td class=\"num\">33%</td><td class=\"num\">3</td>", sla)
    partners = page[page.index('id="open-te-laat-figuur"') :]
    assert "Politie Noord-Nederland, basisteam Groningen: 3 open, 2 te laat" in partners
    assert ">Politie Noord-Nederland…</text>" in partners  # cut to fit beside its bars
