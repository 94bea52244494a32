"""A resident supports an initiative on the resident pages in a real browser (headless Chromium);
a second attempt with the same code, from a page opened before, is refused in plain Dutch."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, ViewportSize, async_playwright

from tests.integration.test_budget_support import running_buurt

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; its absence fails the test (never a skip)."""
    assert CHROMIUM.exists(), "Debian's chromium is required at /usr/bin/chromium: make browser"
    return CHROMIUM


async def enter_code(page: Page, url: str, code: str) -> None:
    """Open the resident page on a phone-sized screen and enter a code with the keyboard."""
    await page.goto(f"{url}/buurt")
    await page.get_by_label("Uw code").fill(code.lower().replace("-", " "))
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def test_a_resident_supports_once_and_a_second_attempt_is_refused(
    fresh_database: str, kafka_bootstrap: str, chromium: Path
) -> None:
    async with running_buurt(fresh_database, kafka_bootstrap) as b:
        bankje = await b.propose(2500, "Bankje bij de speeltuin")
        await b.propose(4000, "Moestuin")
        code = b.codes[1]
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(chromium), args=CHROMIUM_ARGS
            )
            try:
                phone: ViewportSize = {"width": 390, "height": 844}
                page = await browser.new_page(viewport=phone)
                await page.goto(f"{b.url}/buurt")
                assert await page.get_attribute("html", "lang") == "nl"
                await page.get_by_label("Uw code").fill("AAAA-BBBB-CCCC-DDDD-EEEE-FF")
                async with page.expect_navigation():
                    await page.get_by_role("button", name="Verder").click()
                assert "Deze code kennen we niet" in await page.locator("#melding").inner_text()

                await enter_code(page, b.url, code)
                body = await page.locator("main").inner_text()
                assert f"Uw buurt {b.buurt_code}" in body
                assert "Bankje bij de speeltuin" in body and "Moestuin" in body
                assert "Toegezegd: € 0,00 van € 25,00" in body
                assert "?" not in page.url and code not in page.url  # the code is never in a URL

                stale = await browser.new_page(viewport=phone)  # e.g. a housemate, same letter
                await enter_code(stale, b.url, code)

                async with page.expect_navigation():
                    await page.get_by_role("button", name="Steun Bankje bij de speeltuin").click()
                confirmation = await page.locator("#melding").inner_text()
                assert confirmation == (
                    "Bedankt! Uw steun voor “Bankje bij de speeltuin” is geregistreerd."
                )
                async with page.expect_navigation():
                    await page.get_by_role("button", name="Terug naar de initiatieven").click()
                body = await page.locator("main").inner_text()
                assert "U heeft uw budget toegezegd aan “Bankje bij de speeltuin”." in body
                assert "Toegezegd: € 10,00 van € 25,00" in body
                assert await page.get_by_role("button", name="Steun Moestuin").count() == 0

                async with stale.expect_navigation():
                    await stale.get_by_role("button", name="Steun Moestuin").click()
                refused = await stale.locator("#melding").inner_text()
                assert refused.startswith("Deze code is al gebruikt")
                assert "al toegezegd" in refused
            finally:
                await browser.close()
        rows = await b.fetch("SELECT initiative_id::text FROM supports")
        assert [r["initiative_id"] for r in rows] == [bankje]
