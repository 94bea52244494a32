"""An operator opens the routing dashboard in a real browser (headless Chromium), logs in and
finds the streets ranked by recent incidents with their sparklines, the wijkhub alert and the
history of the rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright

from services.routing.app import RoutingSettings, build
from tests.integration.test_routing_flow import START, Clock, Router, routing_groups
from tests.support import demo_registry, running_app, unique

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
RULES = """\
version: "dashboard-1"
municipality: Groningen
gebiedsmanager: gemeente-groningen
rules:
  - id: standaard
    default: true
    responder: gemeente-groningen
    acknowledge_within_hours: 48
thresholds:
  - id: wijkhub
    categorie: [overlast, vernieling]
    window_days: 30
    count: 3
    advice: Bespreek een wijkhub met politie, WIJ en de corporatie.
"""


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; its absence fails the test (never a skip)."""
    assert CHROMIUM.exists(), "Debian's chromium is required at /usr/bin/chromium: make browser"
    return CHROMIUM


async def test_an_operator_sees_the_busiest_streets_alerts_and_rule_history(
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
    names = [unique("Drukstraat"), unique("Middenstraat"), unique("Stillestraat")]
    async with (
        running_app(build(settings, partners=registry, clock=clock)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        day = timedelta(days=1)
        plan = {names[0]: [1, 2, 3, 4], names[1]: [5, 50], names[2]: [60]}  # days ago
        for name, ages in plan.items():
            router = Router(http, operator, fresh_database, kafka_bootstrap, clock, name)
            sent = [router.signal("overlast", observed_at=START - age * day) for age in ages]
            for signal in sent:
                await router.send(signal)
            await router.assignment(sent[-1].signal_id)
        changed = await http.put(
            "/api/v1/rules",
            content=RULES.replace("dashboard-1", "dashboard-2").replace("48", "24"),
            headers={**operator, "X-Wijkbus-Operator": "operator-oost"},
        )
        assert changed.status_code == 200

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(chromium), args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page()
                await page.goto(f"{url}/dashboard")
                assert "/login" in page.url
                await page.fill("#token", creds.operator_token)
                await page.click("button[type=submit]")
                await page.wait_for_selector("#straten")

                # Other tests share the broker: rank only this test's own streets.
                shown = await page.locator("#straten td.straat").all_inner_texts()
                streets = [s for s in shown if s.split(",")[0] in names]
                assert streets == [f"{name}, Groningen" for name in names]
                rows = [page.locator("#straten tbody tr").filter(has_text=name) for name in names]
                assert await rows[0].locator("td.num").all_inner_texts() == ["4", "4"]
                for row in rows:
                    assert await row.locator("svg.sparkline polyline").count() == 1
                title = await rows[0].locator("svg.sparkline title").text_content()
                assert title == f"{names[0]}: meldingen per dag, laatste 90 dagen"

                alerts = await page.locator("#drempels tbody").inner_text()
                assert names[0] in alerts
                assert "actief" in alerts
                assert names[1] not in alerts
                history = await page.locator("#regelhistorie tbody tr").all_inner_texts()
                assert "dashboard-2" in history[0]
                assert "operator-oost" in history[0]
                assert "dashboard-1" in history[1]
                assert "versie dashboard-2" in await page.locator("main").inner_text()
            finally:
                await browser.close()
