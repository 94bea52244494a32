"""Intake's dashboard tells the truth past its first page: every total is the database's count
over all answers and signals, the list pages and filters through all of them, and the refusal
reasons read in Dutch."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.intake.app import IntakeSettings, build
from tests.integration.test_intake_gateway import CORP, SOURCE, Gateway
from tests.support import demo_registry, running_app, signal_event, unique


@pytest.fixture
async def gateway(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Gateway]:
    """Intake knowing one buurt's name (WIJKBUS_BUURTEN), as the demo does."""
    names = tmp_path / "buurten.csv"
    names.write_text("buurt_code,buurt_name\nBU00140107,De Hoogte\n")
    registry, creds = demo_registry()
    settings = IntakeSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=kafka_bootstrap,
        operator_token=creds.operator_token,
        buurten_file=names,
        routing_pages_url="https://routing.example.test/",
        group_prefix=unique("intake"),
    )
    async with (
        running_app(build(settings, partners=registry)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Gateway(http, creds, fresh_database, kafka_bootstrap)


PARTNERS = ["woonstichting-noord", "politie-groningen", "wij-groningen"]
BUURTEN = ["BU00140107", "BU00140110", "BU00140114"]
ROW = re.compile(
    r'<tr data-partner="([^"]+)"><td>[^<]*</td><td class="num accepted">(\d+)</td>'
    r'<td class="num duplicate">(\d+)</td><td class="num refused">(\d+)</td>'
)
LISTED = re.compile(r'<tr data-signal-id="([^"]+)">')
FOUND = re.compile(r'<p id="gevonden">(\d+) signalen')
REFUSED = re.compile(r"Waarom geweigerd <span class=\"muted\">\((\d+) in totaal\)")
REASON = re.compile(r'<tr><td title="[^"]*">([^<]+)</td><td class="num">(\d+)</td></tr>')
DAY = re.compile(
    r"<tr><th scope='row'>(\d+ \w+)</th>"
    r'<td class="num">(\d+)</td><td class="num">(\d+)</td></tr>'
)


async def load(gateway: Gateway, now: datetime) -> None:
    """330 answers and 130 signals straight into the store, over three partners and 20 days."""
    conn = await asyncpg.connect(gateway.database_url, server_settings={"search_path": "intake"})
    try:
        await conn.executemany(
            "INSERT INTO outcomes (partner_id, channel, status, reason, at)"
            " VALUES ($1, 'http', $2, $3, $4)",
            [
                (
                    PARTNERS[i % 3],
                    ("accepted", "accepted", "duplicate", "invalid", "forbidden")[i % 5],
                    {
                        3: f"data.observed_at: observed_at 2026-11-{10 + i % 9}T10:00:00+00:00 is"
                        " in the future; intake takes at most now",
                        4: "type: partner x may not send category ondermijning",
                    }.get(i % 5),
                    now - timedelta(hours=1.5 * i),
                )
                for i in range(330)
            ],
        )
        await conn.executemany(
            "INSERT INTO signals (signal_id, partner_id, source, event_id, categorie, severity,"
            " street_key, street, city, buurt_code, observed_at, received_at, status)"
            " VALUES ($1, $2, 'urn:x', $3, $4, 'normaal', $5, $6, 'Groningen', $7, $8, $8, $9)",
            [
                (
                    uuid.uuid4(),
                    PARTNERS[i % 3],
                    f"ev-{i}",
                    "overlast" if i % 2 else "vervuiling",
                    f"naam:groningen:straat{i % 4}",
                    f"Straat{i % 4}",
                    BUURTEN[i % 3],
                    now - timedelta(minutes=7 * i + 1),
                    ("ontvangen", "opgepakt", "afgehandeld")[i % 3],
                )
                for i in range(130)
            ],
        )
    finally:
        await conn.close()


def operator(gateway: Gateway) -> dict[str, str]:
    return {"Authorization": f"Bearer {gateway.creds.operator_token}"}


async def fetch(gateway: Gateway, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(gateway.database_url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def shown(gateway: Gateway, **query: str) -> str:
    page = await gateway.http.get("/dashboard", params=query, headers=operator(gateway))
    assert page.status_code == 200, page.text
    return page.text


async def test_every_total_is_the_databases_count_over_all_answers_and_signals(
    gateway: Gateway,
) -> None:
    refused = await gateway.post(signal_event(SOURCE[CORP], categorie="ondermijning"))
    assert refused.status_code == 403
    now = datetime.now(UTC)
    await load(gateway, now)

    page = await shown(gateway)
    truth = await fetch(
        gateway,
        "SELECT partner_id, count(*) FILTER (WHERE status = 'accepted') AS a,"
        " count(*) FILTER (WHERE status = 'duplicate') AS d,"
        " count(*) FILTER (WHERE status NOT IN ('accepted', 'duplicate')) AS r"
        " FROM intake.outcomes GROUP BY partner_id",
    )
    rows = {p: (int(a), int(d), int(r)) for p, a, d, r in ROW.findall(page)}
    assert rows == {t["partner_id"]: (t["a"], t["d"], t["r"]) for t in truth}
    total_refused = sum(t["r"] for t in truth)
    assert total_refused == 133  # 132 loaded and the one sent
    assert REFUSED.findall(page) == [str(total_refused)]

    reasons = dict(REASON.findall(page))
    assert sum(map(int, reasons.values())) == total_refused  # every refusal in one group
    assert (
        reasons["ongeldig: veld data.observed_at: de waarnemingstijd ligt in de toekomst"] == "66"
    )
    assert reasons["niet toegestaan: veld type: deze partner mag geen ondermijning melden"] == "67"
    assert ">type: partner" not in page  # the English original is only the tooltip

    days = [(d, int(a), int(r)) for d, a, r in DAY.findall(page)]
    assert len(days) == 14
    recent = await fetch(
        gateway,
        "SELECT count(*) FILTER (WHERE status = 'accepted') AS a,"
        " count(*) FILTER (WHERE status NOT IN ('accepted', 'duplicate')) AS r"
        " FROM intake.outcomes WHERE (at AT TIME ZONE 'Europe/Amsterdam')"
        " >= date_trunc('day', $1 AT TIME ZONE 'Europe/Amsterdam') - interval '13 days'",
        now,
    )
    assert (sum(a for _, a, _ in days), sum(r for _, _, r in days)) == (
        recent[0]["a"],
        recent[0]["r"],
    )

    newest = await fetch(
        gateway, "SELECT signal_id::text FROM intake.signals ORDER BY received_at DESC, signal_id"
    )
    ids = [r["signal_id"] for r in newest]
    assert FOUND.findall(page) == ["130"]
    assert LISTED.findall(page) == ids[:50]
    # Each signal and street links to its page at routing (WIJKBUS_ROUTING_PAGES).
    linked = re.findall(r'<a class="signaal" href="https://routing\.example\.test/dashboard/'
                        r'signalen/([^"]+)">', page)  # fmt: skip
    assert linked == ids[:50]
    assert (
        page.count('<a class="straat" href="https://routing.example.test/dashboard/straten/') == 50
    )
    assert LISTED.findall(await shown(gateway, pagina="3")) == ids[100:]
    assert LISTED.findall(await shown(gateway, pagina="9")) == ids[100:]

    count = await gateway.fetchval(
        "SELECT count(*) FROM intake.signals WHERE partner_id = 'politie-groningen'"
        " AND categorie = 'overlast' AND buurt_code = 'BU00140110' AND status = 'opgepakt'"
    )
    filtered = await shown(
        gateway,
        partner="politie-groningen",
        categorie="overlast",
        buurt="BU00140110",
        status="opgepakt",
    )
    assert FOUND.findall(filtered) == [str(count)]
    on_street = await gateway.fetchval(
        "SELECT count(*) FROM intake.signals WHERE street_key = 'naam:groningen:straat2'"
    )
    assert FOUND.findall(await shown(gateway, street="straat2")) == [str(on_street)]
    assert FOUND.findall(await shown(gateway, street="naam:groningen:straat2")) == [str(on_street)]
    assert (
        'title="naam:groningen:straat1"><a class="straat" href="https://routing.example.test/'
        'dashboard/straten/naam%3Agroningen%3Astraat1">Straat1, Groningen</a></td>'
    ) in page
    assert '<td title="BU00140107">De Hoogte (BU00140107)</td>' in page
    assert '<td title="BU00140110">BU00140110</td>' in page  # a buurt without a known name
    assert '<option value="BU00140107">De Hoogte (BU00140107)</option>' in page
    assert "CET" in page and "Alle tijden in Europe/Amsterdam" in page
    bad = await gateway.http.get(
        "/dashboard", params={"categorie": "geen"}, headers=operator(gateway)
    )
    assert bad.status_code == 400
