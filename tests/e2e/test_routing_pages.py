"""An operator reads routing's dashboard, a signal's page and a street's page in Chromium at
1280 px and 390 px: charts drawn as SVG with their text alternatives, Dutch labels, buurt names,
every signal and street linked, no horizontal overflow, no personal data (a canary wijkhub
contact), and the dashboard updating itself over its live feed without a reload.

Screenshots: build/screenshots/routing/ (or $WIJKBUS_SCREENSHOTS/routing/), one per page and
width: dashboard-1280.png, dashboard-390.png, signaal-1280.png, signaal-390.png,
straat-1280.png, straat-390.png.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from tests.e2e import test_routing_dashboard
from tests.e2e.test_routing_dashboard import CHROMIUM_ARGS
from tests.integration import test_routing_streets as streets
from tests.integration.test_routing_charts import routing_with_buurten
from tests.integration.test_routing_flow import START, Router
from tests.integration.test_routing_streets import deliver
from tests.integration.test_routing_wijkhub_pages import opened
from tests.support import eventually

chromium = test_routing_dashboard.chromium  # Debian's Chromium, required (never a skip)
REPO = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("WIJKBUS_SCREENSHOTS", REPO / "build" / "screenshots")) / "routing"
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
# The streets test's rules (standaard, the wijkhub threshold), overlast first to the police.
RULES = streets.RULES.replace('version: "straten-1"', 'version: "pagina-1"').replace(
    "rules:\n",
    "gebiedsmanager: gemeente-groningen\nrules:\n  - id: overlast-politie\n"
    "    match: {categorie: [overlast]}\n    responder: politie-groningen\n"
    "    acknowledge_within_hours: 8\n"
    "    escalation:\n      - {partner: wij-groningen, acknowledge_within_hours: 16}\n",
)
PAGES = {
    "dashboard": (
        "#toewijzing-lijst",
        4,
        [
            "Meldingen per week, per categorie",
            "Meldingen per week, per buurt",
            "Open en te laat, per partner",
            "Op tijd opgepakt, per week van toewijzing",
            "Cijfers als tabel",
            "Bijgewerkt om",
            "Niet te verwerken berichten",
            "De Hoogte",
        ],
    ),
    "signaal": ("#spoor", 0, ["Spoor", "toegewezen", "opgeschaald", "opgepakt", "Oppakken vóór"]),
    "straat": (
        "#straat-meldingen",
        1,
        [
            "Meldingen per week in deze straat",
            "Meldingen per periode",
            "laatste 30 dagen",
            "Drempels",
            "overschreden",
            "Geschiedenis van advies en besluiten",
            "wijkhub geopend",
            "Meldingen van alle partners",
            "De Hoogte",
        ],
    ),
}


@pytest.fixture
async def router(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Router]:
    async with routing_with_buurten(
        RULES,
        fresh_database,
        kafka_bootstrap,
        tmp_path,
        street="Paginastraat",
        escalation_interval_s=0.3,
        live_interval_s=0.3,
    ) as running:
        yield running


async def login(router: Router) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=str(router.http.base_url), timeout=30)
    token = router.operator["Authorization"].removeprefix("Bearer ")
    assert (await client.post("/login", data={"token": token})).status_code == 303
    return client


async def history(router: Router, canary: str) -> str:
    """Signals over several weeks, one escalated and then taken up, and a wijkhub whose contact
    is the canary; the id of the escalated signal."""
    await deliver(router, ("vernieling", 20 * DAY), ("overlast", 40 * DAY), at=START)
    await deliver(router, ("overlast", 2 * DAY), ("vernieling", 9 * DAY), at=START)
    late = router.signal("overlast", observed_at=START - HOUR, received_at=START)
    await router.send(late)
    await router.assignment(late.signal_id)
    router.clock.now = START + 9 * HOUR  # past politie's 8 hours: on to wij-groningen

    async def escalated() -> bool:
        rows = await router.fetch(
            "SELECT partner_id FROM assignments WHERE signal_id = $1", late.signal_id
        )
        return rows[0]["partner_id"] == "wij-groningen"

    await eventually(escalated, what="escalation to wij-groningen")
    await router.feedback(late.signal_id, "wij-groningen", "opgepakt", START + 10 * HOUR)
    await router.assignment(late.signal_id, "opgepakt")
    router.clock.now = START + 11 * HOUR
    browser = await login(router)
    try:
        await opened(router, browser, contact=canary)
    finally:
        await browser.aclose()
    return late.signal_id


@asynccontextmanager
async def operator_page(router: Router, chromium: Path) -> AsyncIterator[tuple[Page, str]]:
    """A Chromium page logged in as the operator, and routing's base URL."""
    url = str(router.http.base_url).rstrip("/")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{url}/login")
            await page.fill("#token", router.operator["Authorization"].removeprefix("Bearer "))
            await page.click("button[type=submit]")
            yield page, url
        finally:
            await browser.close()


async def no_horizontal_overflow(page: Page) -> bool:
    return bool(
        await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


async def test_dashboard_signal_and_street_pages_read_well_on_wide_and_narrow_screens(
    router: Router, chromium: Path
) -> None:
    canary = f"CANARY-{uuid.uuid4()}"
    signal_id = await history(router, canary)
    paths = {
        "dashboard": "/dashboard",
        "signaal": f"/dashboard/signalen/{signal_id}",
        "straat": f"/dashboard/straten/{quote(router.street_key, safe='')}",
    }
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with operator_page(router, chromium) as (page, url):
        for width in (1280, 390):
            await page.set_viewport_size({"width": width, "height": 900})
            for name, (ready, charts, labels) in PAGES.items():
                await page.goto(url + paths[name])
                await page.wait_for_selector(ready)
                await page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
                text = await page.locator("main").inner_text()
                missing = [label for label in labels if label not in text]
                assert not missing, f"{name} at {width}px lacks {missing}"
                assert await page.locator("svg.chart").count() == charts, name
                for chart in await page.locator("svg.chart").all():
                    assert await chart.locator("title").count() >= 1
                    assert (await chart.get_attribute("role")) == "img"
                    assert await chart.locator("desc").text_content()
                assert await page.locator("figure.grafiek details table").count() == charts
                assert await no_horizontal_overflow(page), f"{name} overflows at {width}px"
                assert canary not in await page.content(), f"personal data on {name}"
                assert "06 12345678" not in await page.content()
                assert "http-equiv" not in await page.content()  # no reloading page


async def test_every_signal_and_street_is_linked_to_its_page(
    router: Router, chromium: Path
) -> None:
    canary = f"CANARY-{uuid.uuid4()}"
    signal_id = await history(router, canary)
    async with operator_page(router, chromium) as (page, url):
        await page.goto(f"{url}/dashboard")
        row = page.locator(f'#toewijzing-lijst tr[data-signal-id="{signal_id}"]')
        assert "De Hoogte" in await row.inner_text()
        assert (await row.locator("span.buurt").get_attribute("title")) == "BU00140107"
        await row.locator("a.signaal").click()
        await page.wait_for_selector("#spoor")
        assert page.url.endswith(f"/dashboard/signalen/{signal_id}")
        steps = await page.locator("#spoor tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.stap)"
        )
        assert steps == ["waargenomen", "ontvangen", "assigned", "escalated", "acknowledged"]
        trail = await page.locator("#spoor").inner_text()
        assert "aan politie-groningen door regel overlast-politie" in trail
        assert "regelset versie pagina-1" in trail
        assert "van politie-groningen naar wij-groningen" in trail
        assert "21-11-2026 06:00 CET" in trail  # 8 hours on, in Amsterdam time
        facts = await page.locator("#melding-feiten").inner_text()
        assert (
            "overlast-politie (regelset versie pagina-1): Categorie overlast, oppakken binnen 8 uur"
            in facts
        )
        assert "WIJ Groningen" in facts  # the partner it is with now, by its name
        await page.locator("#melding-feiten a.straat").click()
        await page.wait_for_selector("#straat-meldingen")
        assert f"{router.street}, Groningen" in await page.locator("h2").first.inner_text()
        listed = page.locator("#straat-meldingen tbody tr")
        assert await listed.count() == 5
        windows = await page.locator("#vensters").inner_text()
        assert "laatste 7 dagen\t2" in windows and "laatste 90 dagen\t5" in windows
        assert "overschreden" in await page.locator("#drempel-stand").inner_text()
        advice = await page.locator("#advieshistorie").inner_text()
        assert "drempel wijkhub overschreden" in advice and "wijkhub geopend" in advice
        assert canary not in await page.content()
        await listed.first.locator("a.signaal").click()
        await page.wait_for_selector("#spoor")
        unknown = await page.goto(f"{url}/dashboard/signalen/{uuid.uuid4()}")
        assert unknown is not None and unknown.status == 404
        assert "Deze melding kent routing niet" in await page.locator("main").inner_text()
        unknown = await page.goto(f"{url}/dashboard/straten/naam%3Agroningen%3Anergens")
        assert unknown is not None and unknown.status == 404
        assert "Deze straat kent routing niet" in await page.locator("main").inner_text()


async def test_the_dashboard_updates_itself_without_a_reload(
    router: Router, chromium: Path
) -> None:
    await deliver(router, ("vernieling", 2 * DAY), at=START)
    refused = await router.http.get("/dashboard/live")  # no login: to the login page
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    async with operator_page(router, chromium) as (page, _):
        await page.wait_for_selector("#toewijzing-lijst")
        before = await page.locator("#bijgewerkt").inner_text()
        assert before == "22:00:00 CET"  # START, in Amsterdam time with its zone
        await page.evaluate("window.stillTheSamePage = true")
        await page.locator("#sla-per-week-figuur summary").click()  # its table, opened
        await page.wait_for_selector("html[data-live=verbonden]")  # the feed's first word
        router.clock.now = START + timedelta(minutes=5)
        fresh = router.signal("overlast", observed_at=START, received_at=router.clock.now)
        await router.send(fresh)
        row = page.locator(f'#toewijzing-lijst tr[data-signal-id="{fresh.signal_id}"]')
        await row.wait_for(timeout=30_000)
        assert await page.evaluate("window.stillTheSamePage === true")
        assert await page.locator("#sla-per-week-figuur details").get_attribute("open") == ""
        assert await page.locator("#per-categorie-figuur details").get_attribute("open") is None
        assert await page.locator("#bijgewerkt").inner_text() == "22:05:00 CET"
