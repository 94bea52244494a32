"""A signal's trail across the services on routing's signal page: intake tells its steps through
GET /api/v1/signals/{id}/trail (operators only), and routing's page shows them beside its own."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from services.intake.app import IntakeSettings
from services.intake.app import build as build_intake
from tests.integration.test_intake_audit import send_signals
from tests.integration.test_routing_flow import RULES, serve_routing
from tests.support import demo_registry, eventually, running_app, unique


async def test_the_signal_page_shows_what_intake_tells_of_the_signal_and_says_what_it_lacks(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    registry, creds = demo_registry()
    intake_settings = IntakeSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=kafka_bootstrap,
        operator_token=creds.operator_token,
        group_prefix=unique("intake"),
    )
    async with (
        running_app(build_intake(intake_settings, partners=registry)) as intake_url,
        httpx.AsyncClient(base_url=intake_url, timeout=30) as intake,
        serve_routing(
            RULES,
            fresh_database,
            kafka_bootstrap,
            tmp_path,
            operator_token=creds.operator_token,
            intake_url=intake_url,
            notify_url=None,
        ) as router,
    ):
        [signal_id] = await send_signals(intake, creds, unique("Spoorstraat"), 1)
        await router.assignment(signal_id)
        police = {"Authorization": f"Bearer {creds.api_keys['politie-groningen']}"}
        await intake.get(f"/api/v1/signals/{signal_id}/person", headers=police)  # recorded

        path = f"/api/v1/signals/{signal_id}/trail"
        assert (await intake.get(path)).status_code == 401
        assert (await intake.get(path, headers=police)).status_code == 403
        answer = await intake.get(path, headers=router.operator)
        assert answer.status_code == 200, answer.text
        whats = [s["what"] for s in answer.json()["steps"]]
        assert {"ontvangen", "persoonsgegevens opgevraagd"} <= set(whats)
        unknown = await intake.get(f"/api/v1/signals/{uuid.uuid4()}/trail", headers=router.operator)
        assert unknown.json()["steps"] == []

        login = await router.http.post(
            "/login", data={"token": creds.operator_token}, follow_redirects=False
        )
        assert login.status_code == 303

        async def page() -> str | None:
            shown = await router.http.get(f"/dashboard/signalen/{signal_id}")
            return shown.text if "geaccepteerd" in shown.text else None

        html = await eventually(page, what="intake's steps on the signal page")
        intake_part = html.split('data-dienst="intake"', 1)[1].split("</table>", 1)[0]
        assert "ontvangen" in intake_part and "persoonsgegevens opgevraagd" in intake_part
        assert "door politie-groningen: refused" in intake_part
        assert 'data-dienst="notify">notify: niet ingesteld' in html
