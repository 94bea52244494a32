"""Budget's dashboard tells the truth past its first page: every total is the database's count
over all households, initiatives and rounds; participation per buurt is charted with its buurt's
name; the lists page and filter through all of them."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import asyncpg

from tests.integration.test_budget_support import OPERATOR, START, Buurt, running_buurt

STATUSES = ("voorgesteld", "open", "gefinancierd", "niet-gefinancierd", "afgewezen")
CARD = re.compile(r'<div class="card" data-total="([^"]+)"><strong>(\d+)</strong>')
BUURT_ROW = re.compile(
    r'<tr data-buurt="([^"]+)">.*?class="num households">(\d+)<.*?class="num participating">(\d+)<',
    re.S,
)
LISTED = re.compile(r'<tr data-initiative="([^"]+)">')
FOUND = re.compile(r'<p id="gevonden">(\d+) initiatieven')
ROUNDS = re.compile(r"<h2>Stemrondes <span class=\"muted\">\((\d+)\)</span>")
ROUND_TITLE = re.compile(r'<h3 id="ronde-\d+">(Ronde \d+)</h3>')


async def load(b: Buurt) -> None:
    """130 initiatives in every status, 23 households supporting, 12 rounds; a buurt name."""
    conn = await asyncpg.connect(b.database_url, server_settings={"search_path": "budget"})
    try:
        await conn.execute(
            "INSERT INTO buurten (municipality, buurt_code, name) VALUES ('Groningen', $1,"
            " 'Proefbuurt') ON CONFLICT DO NOTHING",
            b.buurt_code,
        )
        ids = [uuid.uuid4() for _ in range(130)]
        await conn.executemany(
            "INSERT INTO initiatives (initiative_id, buurt_code, title, cost_cents, status,"
            " created_at, municipality, year, funding_rule) VALUES ($1, $2, $3, 5000, $4, $5,"
            " 'Groningen', 2026, 'pledge')",
            [
                (ids[i], b.buurt_code, f"Plan {i}", STATUSES[i % 5], START - timedelta(hours=i))
                for i in range(130)
            ],
        )
        households = await conn.fetch(
            "SELECT household_id::text FROM households WHERE buurt_code = $1 ORDER BY 1",
            b.buurt_code,
        )
        await conn.executemany(
            "INSERT INTO supports (initiative_id, municipality, year, buurt_code, supporter,"
            " funding_rule, amount_cents) VALUES ($1, 'Groningen', 2026, $2, $3, 'pledge', 100)",
            [(ids[i], b.buurt_code, h["household_id"]) for i, h in enumerate(households[:23])],
        )
        await conn.executemany(
            "INSERT INTO rounds (round_id, title, buurt_code, budget, rule, created_at)"
            " VALUES ($1, $2, $3, 1000, 'greedy', $4)",
            [(f"r-{i}", f"Ronde {i}", b.buurt_code, START - timedelta(days=i)) for i in range(12)],
        )
    finally:
        await conn.close()


async def shown(b: Buurt, **query: str) -> str:
    page = await b.http.get("/dashboard", params=query, headers=OPERATOR)
    assert page.status_code == 200, page.text
    return page.text


async def test_every_total_is_the_databases_count_over_all_rows(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with running_buurt(fresh_database, kafka_bootstrap, households=60) as b:
        await load(b)
        page = await shown(b)

        per_buurt = await b.fetch(
            "SELECT h.buurt_code, count(*) AS n, (SELECT count(DISTINCT supporter) FROM supports"
            " s WHERE s.buurt_code = h.buurt_code) AS p FROM households h"
            " WHERE removed_at IS NULL GROUP BY 1"
        )
        rows = {code: (int(n), int(p)) for code, n, p in BUURT_ROW.findall(page)}
        assert rows == {r["buurt_code"]: (r["n"], r["p"]) for r in per_buurt}
        assert rows[b.buurt_code] == (60, 23)
        statuses = await b.fetch("SELECT status, count(*) AS n FROM initiatives GROUP BY 1")
        cards = dict(CARD.findall(page))
        assert cards["huishoudens"] == str(sum(r["n"] for r in per_buurt))
        assert cards["deelnemers"] == "23"
        assert {s: int(cards[s]) for s in STATUSES} == {r["status"]: r["n"] for r in statuses}
        assert "doen mee (37,1%)" in page  # 23 of 62 households, the two next door included

        # The chart names the buurt and says its share; its table says the same.
        assert page.count('<figure class="chart chart-bar">') == 1
        assert f"<title>Proefbuurt ({b.buurt_code}): 38,3%</title>" in page
        assert (
            f"<th scope='row'>Proefbuurt ({b.buurt_code})</th><td class=\"num\">38,3%</td>" in page
        )

        newest = await b.fetch(
            "SELECT initiative_id::text FROM initiatives ORDER BY created_at DESC, initiative_id"
        )
        ids = [r["initiative_id"] for r in newest]
        assert FOUND.findall(page) == ["130"]
        assert LISTED.findall(page) == ids[:50]
        assert LISTED.findall(await shown(b, pagina="3")) == ids[100:]
        open_ones = await b.fetch("SELECT count(*) AS n FROM initiatives WHERE status = 'open'")
        assert FOUND.findall(await shown(b, status="open", buurt=b.buurt_code)) == [
            str(open_ones[0]["n"])
        ]
        assert FOUND.findall(await shown(b, jaar="2025")) == ["0"]

        assert ROUNDS.findall(page) == ["12"]
        assert ROUND_TITLE.findall(page) == [f"Ronde {i}" for i in range(10)]
        assert ROUND_TITLE.findall(await shown(b, ronde="2")) == ["Ronde 10", "Ronde 11"]
        assert "Bijgewerkt om" in page and "CET" in page
        for wrong in ({"status": "weg"}, {"jaar": "twee"}, {"pagina": "-1"}):
            refused = await b.http.get("/dashboard", params=wrong, headers=OPERATOR)
            assert refused.status_code == 400, wrong
