"""A street's page lists every partner's signals there, newest observation first, a page at a
time, with how many there are in all."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest

from tests.integration.test_routing_charts import RULES, routing_with_buurten
from tests.integration.test_routing_flow import START, Router

ROW = re.compile(r'<tr data-signal-id="([^"]+)">')


@pytest.fixture
async def router(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Router]:
    async with routing_with_buurten(
        RULES, fresh_database, kafka_bootstrap, tmp_path, street="Lange Straat", as_operator=True
    ) as running:
        yield running


async def test_a_streets_signals_are_paged_newest_first_with_their_total(router: Router) -> None:
    conn = await asyncpg.connect(router.database_url, server_settings={"search_path": "routing"})
    try:
        await conn.execute(
            "INSERT INTO street_counts (street_key, categorie, count, street, city, buurt_code)"
            " VALUES ($1, 'overlast', 60, $2, 'Groningen', 'BU00140107')",
            router.street_key,
            router.street,
        )
        ids = [str(uuid.uuid4()) for _ in range(60)]
        await conn.executemany(
            "INSERT INTO street_incidents (signal_id, street_key, categorie, observed_at,"
            " received_at, partner_id) VALUES ($1, $2, 'overlast', $3, $3, 'politie-groningen')",
            [(sid, router.street_key, START - n * timedelta(hours=5)) for n, sid in enumerate(ids)],
        )
    finally:
        await conn.close()
    path = f"/dashboard/straten/{quote(router.street_key, safe='')}"
    first = (await router.http.get(path)).text
    assert "60 meldingen, nieuwste waarneming eerst — pagina 1 van 2." in first
    assert ROW.findall(first) == ids[:50]
    assert "De Hoogte" in first and "60 in totaal" in first
    last = await router.http.get(path, params={"pagina": "99"})  # kept to the last page
    assert last.status_code == 200
    assert ROW.findall(last.text) == ids[50:]
    assert 'rel="prev"' in last.text and 'rel="next"' not in last.text
    assert (await router.http.get(path, params={"pagina": "nul"})).status_code == 400
