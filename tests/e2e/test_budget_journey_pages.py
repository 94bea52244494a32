"""The buurtbudget's whole journey in a real browser (headless Chromium, JavaScript off): a
resident proposes with the code and follows the status; the operator admits, declines and
withdraws on the dashboard; in a vote year the round is formed, voted on, closed, and its results
published. Every page passes axe-core's WCAG 2.1 A/AA rules (no serious or critical finding) at
390 px and 1280 px, and none scrolls sideways."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from tests.e2e.accessibility import Auditor, blocking, fetch_axe
from tests.e2e.test_budget_resident_pages import CHROMIUM_ARGS, enter_code
from tests.integration.test_budget_journey_pages import PROPOSAL
from tests.integration.test_budget_support import OPERATOR, TOKEN, Buurt, running_buurt

pytestmark = pytest.mark.usefixtures("chromium")
CHROMIUM = Path("/usr/bin/chromium")
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def axe_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """axe-core's axe.min.js, fetched once a session with npm (pinned version)."""
    return fetch_axe(tmp_path_factory.mktemp("axe-core"))


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; its absence fails the test (never a skip)."""
    assert CHROMIUM.exists(), "Debian's chromium is required at /usr/bin/chromium: make browser"
    return CHROMIUM


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def auditor(browser: Browser, axe_source: str, tmp_path: Path) -> Auditor:
    """The accessibility check, with its screenshots in the test's directory."""
    (tmp_path / "shots").mkdir()
    return Auditor(browser, axe_source, tmp_path / "shots", [])


async def without_javascript(browser: Browser) -> Page:
    """A phone-sized page with JavaScript off: the pages must work without it."""
    context = await browser.new_context(java_script_enabled=False, viewport=PHONE)
    return await context.new_page()


async def log_in(page: Page, url: str) -> None:
    """An operator opens the dashboard and logs in with the keyboard."""
    await page.goto(f"{url}/dashboard")
    await page.get_by_label("Operatorsleutel").fill(TOKEN)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Initiatieven beslissen")).to_be_visible()


async def click(page: Page, name: str) -> None:
    """Press a button by its accessible name and wait for the page it leads to."""
    async with page.expect_navigation():
        await page.get_by_role("button", name=name).click()


def assert_accessible(auditor: Auditor) -> None:
    """No page had a serious or critical finding at any width (all findings: findings.txt)."""
    lines = [f"{f.width}px {f.impact} {f.rule}: {f.help} {f.targets}" for f in auditor.findings]
    (auditor.shots / "findings.txt").write_text("\n".join(lines) + "\n")
    bad = blocking(auditor.findings)
    assert not bad, "\n".join(f"{f.width}px {f.impact} {f.rule}: {f.help} {f.targets}" for f in bad)


async def test_a_resident_proposes_and_the_operator_decides_on_accessible_pages(
    fresh_database: str, kafka_bootstrap: str, browser: Browser, auditor: Auditor
) -> None:
    async with running_buurt(fresh_database, kafka_bootstrap) as b:
        resident = await without_javascript(browser)
        await resident.goto(f"{b.url}/buurt")
        await auditor.check(resident, "1-code")
        await enter_code(resident, b.url, b.codes[2])
        await auditor.check(resident, "2-initiatieven")
        await click(resident, "Een initiatief voorstellen")
        await auditor.check(resident, "3-voorstel")

        await resident.get_by_label("Titel").fill("ab")
        await resident.get_by_label("Kosten in euro's").fill("tien")
        await resident.get_by_label("E-mailadres").fill("anna@")
        await click(resident, "Voorstel versturen")
        summary = resident.get_by_role("alert")
        await expect(summary).to_contain_text("Uw voorstel is nog niet verstuurd")
        kosten = resident.get_by_label("Kosten in euro's")
        await expect(kosten).to_have_attribute("aria-invalid", "true")
        await expect(kosten).to_have_accessible_description(re.compile("Vul een bedrag in euro"))
        await expect(resident.get_by_label("Uw naam")).to_have_accessible_description(
            re.compile("Vul uw naam in")
        )
        await auditor.check(resident, "4-voorstel-fouten")
        await focus_is_visible(resident, "titel")

        await resident.get_by_label("Titel").fill(PROPOSAL["titel"])
        await resident.get_by_label("Beschrijving").fill(PROPOSAL["beschrijving"])
        await kosten.fill("250")
        await resident.get_by_label("Uw naam").fill("Anna de Vries")
        await resident.get_by_label("E-mailadres").fill("anna@example.nl")
        await click(resident, "Voorstel versturen")
        await expect(resident.locator("#status")).to_have_text("voorgesteld")
        assert b.codes[2] not in resident.url and "?" not in resident.url
        await auditor.check(resident, "5-voorstel-ontvangen")
        moestuin = await b.http.post(
            "/buurt/voorstel/indienen",
            data={"code": b.codes[3], **PROPOSAL, "titel": "Moestuin", "kosten": "400"},
        )
        assert moestuin.status_code == 200

        operator = await without_javascript(browser)
        await log_in(operator, b.url)
        await auditor.check(operator, "6-dashboard")
        await operator.get_by_label("Reden van afwijzing voor Bankje bij de speeltuin").fill(
            "Valt buiten het budget."
        )
        await click(operator, "Afwijzen voor Bankje bij de speeltuin")
        await operator.get_by_label("Deadline voor steun voor Moestuin").fill("2026-12-24")
        await click(operator, "Toelaten voor Moestuin")
        await auditor.check(operator, "7-dashboard-beslist")
        await click(operator, "Intrekken op verzoek van de initiatiefnemer voor Moestuin")
        statuses = await operator.locator("#initiatieven td.status").all_inner_texts()
        assert sorted(statuses) == ["afgewezen", "ingetrokken"]

        await click(resident, "Terug naar de initiatieven")
        mine = resident.locator("#voorstellen")
        await expect(mine).to_contain_text("afgewezen. Reden: Valt buiten het budget.")
        await auditor.check(resident, "8-initiatieven-met-voorstel")
        assert "<script" not in await resident.content()
    assert_accessible(auditor)


async def focus_is_visible(page: Page, field: str) -> None:
    """Tabbing reaches the field, and the focused field shows a visible outline."""
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == field:
            break
    else:
        raise AssertionError(f"Tab never reached #{field}")
    outline = await page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; })()"
    )
    assert outline[0] != "none" and outline[1] != "0px", outline


async def test_a_vote_year_round_is_formed_voted_closed_and_its_results_are_public(
    fresh_database: str, kafka_bootstrap: str, browser: Browser, auditor: Auditor
) -> None:
    async with running_buurt(fresh_database, kafka_bootstrap, rule="vote") as b:
        ids = await admitted(b, [("Bomen", "30"), ("Bankjes", "25"), ("Geveltuinen", "15")])
        operator = await without_javascript(browser)
        await log_in(operator, b.url)
        await auditor.check(operator, "v1-dashboard-ronde-openen")
        await operator.get_by_label("Beslisregel").select_option("greedy")
        await click(operator, f"Stemronde openen voor buurt {b.buurt_code}")

        resident = await without_javascript(browser)
        await enter_code(resident, b.url, b.codes[0])
        await auditor.check(resident, "v2-stemronde")
        await resident.get_by_label("Bomen — € 30").check()
        await resident.get_by_label("Geveltuinen — € 15").check()
        await click(resident, "Stem")
        await expect(resident.locator("#melding")).to_contain_text("Uw stem is geregistreerd")
        round_id = f"Groningen:2026:{b.buurt_code}:1"
        for code, ballot in [(b.codes[1], ["Bankjes"]), (b.codes[2], ["Bomen"])]:
            voted = await b.http.post(
                "/buurt/stem",
                data={"code": code, "round_id": round_id, "project": [ids[t] for t in ballot]},
            )
            assert voted.status_code == 200

        await click(operator, "Stemronde sluiten en beslissen voor Buurtbudget")
        await auditor.check(operator, "v3-dashboard-beslist")
        results = f"Uitslagpagina voor bewoners van buurt {b.buurt_code}"
        async with operator.expect_navigation():
            await operator.get_by_role("link", name=results).click()
        table = operator.get_by_role("table", name="Projecten, stemmen en uitslag")
        await expect(table).to_contain_text("Bomen")
        await expect(operator.get_by_role("row", name=re.compile("^Bankjes"))).to_contain_text(
            "Niet gekozen"
        )
        await auditor.check(operator, "v3-uitslag")
        await click(resident, "Terug naar de initiatieven")
        await auditor.check(resident, "v4-initiatieven-na-de-ronde")
        await expect(resident.get_by_role("link", name="Bekijk de uitslag")).to_be_visible()
    assert_accessible(auditor)


async def admitted(b: Buurt, initiatives: list[tuple[str, str]]) -> dict[str, str]:
    """Initiatives proposed on the form and admitted over the API; their ids by title."""
    for title, cost in initiatives:
        sent = await b.http.post(
            "/buurt/voorstel/indienen",
            data={"code": b.codes[4], **PROPOSAL, "titel": title, "kosten": cost},
        )
        assert sent.status_code == 200
    rows = await b.fetch("SELECT title, initiative_id::text FROM initiatives")
    for row in rows:
        answer = await b.http.post(
            f"/api/v1/initiatives/{row['initiative_id']}/admit",
            json={"deadline": "2026-12-24T23:00:00Z"},
            headers=OPERATOR,
        )
        assert answer.status_code == 200
    return {r["title"]: r["initiative_id"] for r in rows}
