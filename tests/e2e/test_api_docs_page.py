"""An integrator opens routing's API docs in a real browser (headless Chromium): Swagger UI
renders the operations from the service's own assets, nothing is fetched from elsewhere, and the
CSP blocks nothing."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import ConsoleMessage, Request, async_playwright

from services.routing.app import RoutingSettings, build
from tests.e2e import test_routing_dashboard as dashboard
from tests.e2e.test_routing_dashboard import CHROMIUM_ARGS, RULES
from tests.integration.test_routing_flow import routing_groups
from tests.support import demo_registry, running_app

chromium = dashboard.chromium  # the same fixture: Debian's Chromium or a failure


async def test_swagger_ui_renders_routings_operations_from_local_assets(
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
        group_prefix=await routing_groups(kafka_bootstrap),
    )
    async with running_app(build(settings, partners=registry)) as url:
        requested: list[str] = []
        complaints: list[str] = []
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(chromium), args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page()

                def on_request(request: Request) -> None:
                    requested.append(request.url)

                def on_console(message: ConsoleMessage) -> None:
                    if message.type == "error":
                        complaints.append(message.text)

                page.on("request", on_request)
                page.on("console", on_console)
                await page.goto(f"{url}/api/v1/docs")
                await page.wait_for_selector(".opblock", timeout=30_000)
                paths = await page.eval_on_selector_all(
                    ".opblock-summary-path", "nodes => nodes.map(n => n.textContent.trim())"
                )
            finally:
                await browser.close()
    assert "/api/v1/assignments/{signal_id}" in paths, paths
    assert "/api/v1/rules" in paths
    assert requested and all(u.startswith(url) or u.startswith("data:") for u in requested), [
        u for u in requested if not u.startswith(url)
    ]
    assert not [c for c in complaints if "Content Security Policy" in c], complaints
