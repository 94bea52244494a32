"""Routing's dashboard tells the truth past its first page: every total it shows is the
database's count over all assignments, and the list pages and filters through all of them."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.integration.test_routing_flow import START, Router, serve_routing

RULES = """\
version: "totals-1"
municipality: Groningen
rules:
  - id: huurachterstand-corporatie
    match: {categorie: [huurachterstand]}
    responder: woonstichting-noord
    acknowledge_within_hours: 24
    escalation:
      - {partner: wij-groningen, acknowledge_within_hours: 16}
  - id: overlast-recent
    match: {categorie: [overlast], min_recent: {days: 30, count: 3}}
    responder: politie-groningen
    acknowledge_within_hours: 8
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 48
thresholds:
  - id: wijkhub
    categorie: [overlast, vernieling]
    window_days: 30
    count: 3
    advice: Bespreek een wijkhub.
"""
PARTNERS = ["politie-groningen", "gemeente-groningen", "wij-groningen"]
STREETS = ["Asingastraat", "Oosterweg", "Zaagmuldersweg"]
ROW = re.compile(
    r'<tr data-partner="([^"]+)">.*?class="num open">(\d+)<.*?class="num late[^"]*">(\d+)<', re.S
)
LISTED = re.compile(r'<tr data-signal-id="([^"]+)">')
FOUND = re.compile(r'<p id="gevonden">(\d+) toewijzing')
CARD = re.compile(r'<div class="card" data-status="([^"]+)"><strong[^>]*>(\d+)</strong>')
LATE = (
    "status <> 'afgehandeld' AND acknowledge_by IS NOT NULL"
    " AND coalesce(acknowledged_at, $1) > acknowledge_by"
)


@pytest.fixture
async def router(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Router]:
    async with serve_routing(
        RULES,
        fresh_database,
        kafka_bootstrap,
        tmp_path,
        street="Huurstraat",
        as_operator=True,
        escalation_interval_s=3600,
    ) as running:
        yield running


async def load(router: Router, count: int) -> None:
    """`count` assignments straight into the store: open, late, acknowledged and resolved."""
    conn = await asyncpg.connect(router.database_url, server_settings={"search_path": "routing"})
    try:
        for n, street in enumerate(STREETS):
            key = f"naam:groningen:{street.lower()}"
            await conn.execute(
                "INSERT INTO street_counts (street_key, categorie, count, street, city, buurt_code)"
                " VALUES ($1, 'overlast', 1, $2, 'Groningen', $3)",
                key,
                street,
                f"BU0014010{n}",
            )
        rows = []
        for i in range(count):
            late = i % 4 == 0  # 65 late: more than a page holds
            status = "opgepakt" if i % 5 == 0 else "toegewezen"
            rows.append(
                (
                    str(uuid.uuid4()),
                    PARTNERS[i % 3],
                    "overlast" if i % 2 else "vervuiling",
                    f"naam:groningen:{STREETS[i % 3].lower()}",
                    f"BU0014010{i % 3}",
                    "totals-1",
                    "standaard",
                    status,
                    START - timedelta(minutes=i + 1),
                    START + timedelta(hours=-1 if late else 8),
                    START - timedelta(minutes=i % 30) if status == "opgepakt" else None,
                )
            )
        await conn.executemany(
            "INSERT INTO assignments (signal_id, partner_id, categorie, street_key, buurt_code,"
            " ruleset_version, rule_id, status, assigned_at, acknowledge_by, acknowledged_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            rows,
        )
        await conn.execute(  # a resolved one counts per status, never as open
            "UPDATE assignments SET status = 'afgehandeld', resolved_at = $1 WHERE signal_id = $2",
            START,
            rows[3][0],
        )
    finally:
        await conn.close()


async def shown(router: Router, **query: str) -> str:
    page = await router.http.get("/dashboard", params=query)
    assert page.status_code == 200, page.text
    return page.text


async def test_every_total_is_the_databases_count_over_all_assignments(router: Router) -> None:
    huur = router.signal("huurachterstand")
    await router.send(huur)
    await router.assignment(huur.signal_id)
    await load(router, 260)
    now = START

    page = await shown(router)
    per_partner = {p: (int(o), int(late)) for p, o, late in ROW.findall(page)}
    truth = await router.fetch(
        f"SELECT partner_id, count(*) AS open, count(*) FILTER (WHERE {LATE}) AS late"
        " FROM assignments WHERE status <> 'afgehandeld' GROUP BY partner_id",
        now,
    )
    assert per_partner == {r["partner_id"]: (r["open"], r["late"]) for r in truth}
    assert per_partner["woonstichting-noord"] == (1, 0)
    assert sum(o for o, _ in per_partner.values()) == 260  # 259 loaded open + huurachterstand
    statuses = await router.fetch("SELECT status, count(*) AS n FROM assignments GROUP BY status")
    cards = dict(CARD.findall(page))
    late_total = sum(r["late"] for r in truth)
    assert late_total > 50
    assert cards == {
        **{r["status"]: str(r["n"]) for r in statuses},
        "te laat": str(late_total),
    }

    newest = await router.fetch(
        "SELECT signal_id FROM assignments WHERE status <> 'afgehandeld'"
        " ORDER BY assigned_at DESC, signal_id"
    )
    ids = [r["signal_id"] for r in newest]
    assert FOUND.findall(page) == ["260"]
    assert LISTED.findall(page) == ids[:50]
    assert LISTED.findall(await shown(router, page="6")) == ids[250:]
    assert LISTED.findall(await shown(router, page="99")) == ids[250:]  # kept to the last page

    corporatie = await shown(router, partner="woonstichting-noord")
    assert LISTED.findall(corporatie) == [huur.signal_id]
    assert "huurachterstand" in corporatie

    late = await shown(router, late="ja")
    assert FOUND.findall(late) == [str(late_total)]
    politie_late = await shown(router, partner="politie-groningen", late="ja")
    assert FOUND.findall(politie_late) == [str(per_partner["politie-groningen"][1])]

    street = await router.fetch(
        "SELECT count(*) AS n FROM assignments WHERE street_key = 'naam:groningen:oosterweg'"
        " AND status <> 'afgehandeld' AND categorie = 'overlast'"
    )
    by_street = await shown(router, street="oosterweg", categorie="overlast")
    assert FOUND.findall(by_street) == [str(street[0]["n"])]
    assert 'title="naam:groningen:oosterweg">Oosterweg, Groningen</a>' in by_street

    resolved = await shown(router, status="afgehandeld")
    assert FOUND.findall(resolved) == ["1"]
    assert (await router.http.get("/dashboard", params={"status": "weg"})).status_code == 400


async def test_rules_durations_and_times_read_as_people_write_them(router: Router) -> None:
    page = await shown(router)
    assert "3 of meer meldingen in de straat in de laatste 30 dagen" in page
    assert "min_recent" not in page
    assert "24 uur" in page
    assert "2 dagen" in page  # the default rule's 48 hours
    assert "wij-groningen (16 uur)" in page
    assert (
        "3 of meer meldingen (overlast of vernieling) in de straat in de laatste 30 dagen" in page
    )
    # The rule set was loaded at START (21:00 UTC): 22:00 in Amsterdam, in winter time.
    assert "20-11-2026 22:00 CET" in page
    assert "Alle tijden in Europe/Amsterdam" in page
