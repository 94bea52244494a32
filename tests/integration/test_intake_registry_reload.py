"""A partner added to the registry is served without a restart; a broken file changes nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from contracts import topics
from services.intake.app import IntakeSettings, build
from tests.support import consume_json, encode, eventually, produce, running_app, signal_event
from tools.devstack import DEMO_PARTNERS, secret_env_name
from wijkbus.partners import api_key_hash, sign

NEW = {
    "id": "handhaving-groningen",
    "name": "Handhaving Groningen",
    "role": "handhaving",
    "source": "urn:nld:oin:00000001001589623000:systeem:boa",
    "may_send": ["vervuiling"],
    "may_read_personal_data": False,
}
CE = {"Content-Type": "application/cloudevents+json"}


def _entry(partner: dict, key: str) -> dict:
    return {
        **partner,
        "api_key_sha256": api_key_hash(key),
        "signing_secret_env": secret_env_name(partner["id"]),
    }


async def test_new_partner_is_served_after_reload_and_broken_file_is_refused(
    tmp_path: Path, fresh_database: str, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for partner in [*DEMO_PARTNERS, NEW]:
        monkeypatch.setenv(secret_env_name(partner["id"]), f"secret-{partner['id']}")
    registry = tmp_path / "partners.yaml"
    registry.write_text(yaml.safe_dump([_entry(p, f"key-{p['id']}") for p in DEMO_PARTNERS]))
    settings = IntakeSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=kafka_bootstrap,
        partners_file=registry,
        registry_reload_s=0.2,
    )
    new_event = signal_event(NEW["source"], categorie="vervuiling")
    headers = {**CE, "Authorization": f"Bearer key-{NEW['id']}"}
    app = build(settings)
    async with running_app(app) as url, httpx.AsyncClient(base_url=url) as http:
        before = await http.post("/api/v1/events", content=encode(new_event), headers=headers)
        assert before.status_code == 401

        registry.write_text(
            yaml.safe_dump([_entry(p, f"key-{p['id']}") for p in [*DEMO_PARTNERS, NEW]])
        )

        async def accepted() -> httpx.Response | None:
            answer = await http.post("/api/v1/events", content=encode(new_event), headers=headers)
            return answer if answer.status_code == 202 else None

        assert (await eventually(accepted, what="the new partner's key accepted")).json()
        kafka_event = signal_event(NEW["source"], categorie="vervuiling")
        body = encode(kafka_event)
        await produce(
            kafka_bootstrap,
            topics.partner_events(NEW["id"]),
            body,
            headers=[("wijkbus-signature", sign(f"secret-{NEW['id']}".encode(), body).encode())],
        )

        async def receipt() -> list[dict] | None:
            found = await consume_json(
                kafka_bootstrap, topics.partner_receipts(NEW["id"]), count=10**6, timeout=2
            )
            return [r for r in found if r["data"].get("event_id") == kafka_event["id"]] or None

        [answer] = await eventually(receipt, timeout=90, what="a receipt on the new topic")
        assert answer["type"] == "nl.wijkaanpak.ontvangst.geaccepteerd"

        registry.write_text("- id: Not A Slug\n")

        async def refused() -> str | None:
            return app.state.registry_watcher.last_error

        assert "entry 0" in await eventually(refused, what="the broken registry refused")
        still = await http.post(
            "/api/v1/events",
            headers=headers,
            content=encode(signal_event(NEW["source"], categorie="vervuiling")),
        )
        assert still.status_code == 202
