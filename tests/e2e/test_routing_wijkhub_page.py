"""An operator opens a wijkhub from the routing dashboard in a real browser (headless Chromium)
and reads its page: the evaluation's chart is drawn and every number in it is the API's, on a
phone and on a desktop screen."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, async_playwright

from services.routing.app import RoutingSettings, build
from tests.e2e import test_routing_dashboard as dashboard
from tests.e2e.test_routing_dashboard import CHROMIUM_ARGS, RULES
from tests.integration.test_routing_flow import START, Clock, Router, routing_groups
from tests.integration.test_routing_streets import deliver
from tests.support import demo_registry, running_app, unique

chromium = dashboard.chromium  # the same fixture: Debian's Chromium or a failure
DAY = timedelta(days=1)
VIEWPORTS = {"telefoon": (390, 844), "desktop": (1280, 900)}


def figure(evaluation: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted `figure` path of the evaluation's JSON (None where absent)."""
    found: Any = evaluation
    for part in path.split("."):
        found = found.get(part) if isinstance(found, Mapping) else None
    return found


async def figures_on(page: Page) -> list[dict[str, str | None]]:
    return list(
        await page.eval_on_selector_all(
            "#evaluatie [data-figure]",
            "cells => cells.map(c => ({figure: c.dataset.figure, value: c.dataset.value,"
            " count: c.dataset.count === undefined ? null : c.dataset.count}))",
        )
    )


def same(shown: dict[str, str | None], evaluation: Mapping[str, Any]) -> bool:
    path = str(shown["figure"])
    if ".per_categorie." in path:  # per week in the cell; the count is the JSON's figure
        return int(shown["count"] or 0) == (figure(evaluation, path) or 0)
    expected = figure(evaluation, path)
    if expected is None:
        return shown["value"] == ""
    return abs(float(shown["value"] or "nan") - float(expected)) < 1e-9


async def test_an_operator_opens_a_wijkhub_and_reads_its_evaluation_on_phone_and_desktop(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path, chromium: Path
) -> None:
    registry, creds = demo_registry()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings = RoutingSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=kafka_bootstrap,
        operator_token=creds.operator_token,
        rules_file=rules,
        escalation_interval_s=3600,
        group_prefix=await routing_groups(kafka_bootstrap),
    )
    clock = Clock()
    operator = {"Authorization": f"Bearer {creds.operator_token}"}
    async with (
        running_app(build(settings, partners=registry, clock=clock)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        hub = Router(http, operator, fresh_database, kafka_bootstrap, clock, unique("Hubstraat"))
        other = Router(http, operator, fresh_database, kafka_bootstrap, clock, unique("Buurweg"))
        await deliver(hub, *[("overlast", n * 3 * DAY) for n in range(1, 7)], at=START)
        await deliver(other, ("vernieling", 4 * DAY), ("overlast", 15 * DAY), at=START)

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(chromium), args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page()
                await page.goto(f"{url}/dashboard")
                await page.fill("#token", creds.operator_token)
                await page.click("button[type=submit]")
                advice = page.locator(f'article.advies[data-street-key="{hub.street_key}"]')
                await advice.locator("summary", has_text="Wijkhub openen").click()
                await advice.locator("input[name=address]").fill(f"{hub.street} 20, buurthuis")
                for partner in ("politie-groningen", "wij-groningen", "woonstichting-noord"):
                    await advice.locator(f"input[name=partners][value={partner}]").check()
                await advice.locator("input[name=name]").fill("Fatima el Amrani")
                await advice.locator("input[name=role]").fill("wijkagent")
                await advice.locator("textarea[name=aims]").fill("Minder overlast, meer contact.")
                await advice.locator("button", has_text="Wijkhub openen").click()
                await page.wait_for_url("**/dashboard/wijkhubs/hub-*")
                hub_url = page.url

                # Two weeks on: the hub's street is quieter, the other street goes on as before.
                clock.now = START + 14 * DAY
                await deliver(hub, ("overlast", 5 * DAY), at=clock.now)
                await deliver(other, ("overlast", 2 * DAY), ("vernieling", 9 * DAY), at=clock.now)
                hub_id = hub_url.rsplit("/", 1)[1]
                answer = await http.get(f"/api/v1/wijkhubs/{hub_id}/evaluation", headers=operator)
                assert answer.status_code == 200
                evaluation = answer.json()

                for name, (width, height) in VIEWPORTS.items():
                    await page.set_viewport_size({"width": width, "height": height})
                    await page.goto(hub_url)
                    assert await page.locator("#evaluatie svg").count() >= 1
                    assert await page.locator("#evaluatie svg rect").count() >= 1
                    shown = await figures_on(page)
                    assert len(shown) > 20
                    wrong = [s for s in shown if not same(s, evaluation)]
                    assert wrong == [], f"figures that differ from the API's: {wrong[:5]}"
                    assert "Fatima el Amrani" in await page.locator("#contact").inner_text()
                    assert "Fatima" not in await page.locator("#evaluatie").inner_text()
                    shot = tmp_path / f"wijkhub-{name}.png"
                    await page.screenshot(path=str(shot), full_page=True)
                    overflow = await page.evaluate(
                        "document.documentElement.scrollWidth - window.innerWidth"
                    )
                    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on {name}"
            finally:
                await browser.close()
