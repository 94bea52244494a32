"""The notify, intake and budget dashboards in a real browser (headless Chromium) at 1280 px and
390 px: charts as SVG with a text alternative, Dutch labels, no sideways scrolling, no personal
data (canaries), and live: a change in the database shows without a reload, with a new
'bijgewerkt om' time. Screenshots go to build/screenshots/dashboards/<dashboard>-<width>.png."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from playwright.async_api import Page, async_playwright

from tests.e2e import test_routing_dashboard as routing_e2e
from tests.e2e.test_routing_dashboard import CHROMIUM_ARGS
from tests.integration import test_intake_gateway, test_notify_flow
from tests.integration.test_budget_support import CONTACT, TOKEN, running_buurt
from tests.integration.test_intake_dashboard_totals import load as load_answers
from tests.integration.test_intake_gateway import CORP, SOURCE, Gateway
from tests.integration.test_intake_privacy import canary_person
from tests.integration.test_notify_dashboard_totals import load as load_deliveries
from tests.integration.test_notify_flow import TOKEN as RECEIVER_TOKEN
from tests.integration.test_notify_flow import Notify, Receiver
from tests.support import signal_event

chromium = routing_e2e.chromium  # Debian's Chromium or a failure, never a skip
gateway = test_intake_gateway.gateway
notify, receiver = test_notify_flow.notify, test_notify_flow.receiver

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots" / "dashboards"
WIDTHS = {"1280": (1280, 900), "390": (390, 844)}
ENGLISH = ["Dead letters", "after ", " attempts", "may not send", "Field required", "Delivered"]
Change = Callable[[], Awaitable[None]]


@asynccontextmanager
async def logged_in(chromium: Path, url: str, token: str) -> AsyncIterator[Page]:
    """A browser page on which the operator logged in from the dashboard's own redirect."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{url}/dashboard")
            assert "/login" in page.url
            await page.fill("#token", token)
            await page.click("button[type=submit]")
            await page.wait_for_selector("#bijgewerkt-tijd")
            yield page
        finally:
            await browser.close()


async def charts_on(page: Page) -> int:
    """How many charts the page has; each must be an SVG with title, desc and its table."""
    figures = page.locator("figure.chart")
    for index in range(await figures.count()):
        figure = figures.nth(index)
        svg = figure.locator("svg[role=img]")
        assert await svg.count() == 1
        assert (await svg.locator("title").first.text_content() or "").strip()
        assert (await svg.locator("desc").first.text_content() or "").strip()
        assert await svg.locator("rect, polyline").count() >= 1
        assert await figure.locator("details table tbody tr").count() >= 1
    return await figures.count()


async def check(
    page: Page,
    url: str,
    name: str,
    *,
    charts: int,
    labels: Sequence[str],
    canaries: Sequence[str],
) -> None:
    """The dashboard at both widths: charts, Dutch labels, no overflow, no personal data."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, (w, h) in WIDTHS.items():
        await page.set_viewport_size({"width": w, "height": h})
        await page.goto(f"{url}/dashboard")
        assert await charts_on(page) == charts
        text = await page.locator("main").inner_text()
        missing = [label for label in labels if label not in text]
        assert missing == [], f"{name} at {width}px lacks {missing}"
        english = [word for word in ENGLISH if word in text]
        assert english == [], f"{name} at {width}px shows English: {english}"
        assert "Bijgewerkt om" in text and ("CET" in text or "CEST" in text)
        html = (await page.content()).casefold()
        leaked = [c for c in canaries if c.casefold() in html]
        assert leaked == [], f"{name} shows personal data: {leaked}"
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
        await page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


async def updates_live(page: Page, url: str, selector: str, change: Change) -> None:
    """After `change`, `selector`'s text changes without a reload, with a new 'bijgewerkt' time."""
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto(f"{url}/dashboard")
    # Locators, not wait_for_function: a polled predicate is eval'd in the page, which the
    # pages' CSP (no 'unsafe-eval') refuses whenever it does not hold at the first look.
    await page.locator("#live-status", has_text="live").wait_for(timeout=20_000)
    before = await page.locator(selector).inner_text()
    stamp = await page.locator("#bijgewerkt-tijd").get_attribute("datetime")
    await page.evaluate("window.zelfdePagina = true")
    await change()
    deadline = asyncio.get_running_loop().time() + 20
    while await page.locator(selector).inner_text() == before:
        assert asyncio.get_running_loop().time() < deadline, f"{selector} did not change"
        await asyncio.sleep(0.2)
    assert await page.evaluate("window.zelfdePagina === true"), "the page was reloaded"
    assert await page.locator("#bijgewerkt-tijd").get_attribute("datetime") != stamp


async def test_intake_dashboard_in_a_browser(gateway: Gateway, chromium: Path) -> None:
    person = canary_person()
    sent = await gateway.post(
        signal_event(SOURCE[CORP], categorie="huurachterstand", person=person)
    )
    assert sent.status_code == 202, sent.text
    refused = await gateway.post(signal_event(SOURCE[CORP], categorie="ondermijning"))
    assert refused.status_code == 403
    await load_answers(gateway, datetime.now(UTC))  # more than a page, and English reasons
    url = str(gateway.http.base_url)
    async with logged_in(chromium, url, gateway.creds.operator_token) as page:
        await check(
            page,
            url,
            "intake",
            charts=2,
            labels=[
                "Per partner",
                "Waarom geweigerd",
                "niet toegestaan",
                "deze partner mag geen ondermijning melden",
                "Signalen, nieuwste eerst",
                "Onverwerkbare berichten",
                "Asingastraat, Groningen",
            ],
            canaries=[person["name"], person["phone"], person["email"]],
        )

        async def another() -> None:
            again = await gateway.post(signal_event(SOURCE[CORP]))
            assert again.status_code == 202

        await updates_live(page, url, f'tr[data-partner="{CORP}"] td.accepted', another)


async def test_notify_dashboard_in_a_browser(
    notify: Notify, receiver: Receiver, chromium: Path
) -> None:
    _, hook = receiver.hook()
    secret_url = f"{hook}?sleutel=kanarie-geheim-7c1"
    created = await notify.subscribe(secret_url, filters={"street_key": "x"})
    assert created.status_code == 201, created.text
    await load_deliveries(notify, [created.json()["id"]])  # English errors among them
    url = str(notify.http.base_url)
    async with logged_in(chromium, url, notify.creds.operator_token) as page:
        await check(
            page,
            url,
            "notify",
            charts=1,
            labels=[
                "Per abonnement",
                "Afleveringen per abonnement",
                "Pogingen, nieuwste eerst",
                "Niet af te leveren (dead letters)",
                "webhook naar 127.0.0.1",
            ],
            canaries=["kanarie-geheim-7c1", RECEIVER_TOKEN],
        )

        async def one_more() -> None:
            _, other = receiver.hook()
            second = await notify.subscribe(other, filters={"street_key": "y"})
            assert second.status_code == 201

        await updates_live(page, url, '[data-total="actief"] strong', one_more)


async def test_budget_dashboard_in_a_browser(
    fresh_database: str, kafka_bootstrap: str, chromium: Path
) -> None:
    async with running_buurt(fresh_database, kafka_bootstrap, households=8) as b:
        conn = await asyncpg.connect(fresh_database, server_settings={"search_path": "budget"})
        try:
            await conn.execute(
                "INSERT INTO buurten (municipality, buurt_code, name) VALUES ('Groningen', $1,"
                " 'Proefbuurt')",
                b.buurt_code,
            )
        finally:
            await conn.close()
        initiative = await b.propose(5000)
        assert (await b.support(b.codes[1], initiative)).status_code in (200, 201)
        async with logged_in(chromium, b.url, TOKEN) as page:
            await check(
                page,
                b.url,
                "budget",
                charts=1,
                labels=[
                    "Per buurt",
                    "Deelname per buurt (%)",
                    f"Proefbuurt ({b.buurt_code})",
                    "Initiatieven, nieuwste eerst",
                    "Stemrondes",
                ],
                canaries=[CONTACT["name"], CONTACT["email"], *b.codes],
            )

            async def proposed() -> None:
                await b.propose(2500, title="Geveltuin")

            await updates_live(page, b.url, '[data-total="open"] strong', proposed)
