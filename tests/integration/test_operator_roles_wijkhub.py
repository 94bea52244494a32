"""Routing's operator roles: a gebiedsmanager decides on wijkhubs under their own name, a
kijker looks without deciding or seeing the contact person, rules are a beheerder's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.integration import test_routing_streets as streets
from tests.integration.test_operator_accounts import PASSWORDS, operators_file
from tests.integration.test_routing_flow import Router, serve_routing
from tests.integration.test_routing_wijkhub_pages import crossed, form_token, open_form


@pytest.fixture
async def router(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Router]:
    async with serve_routing(
        streets.RULES, fresh_database, kafka_bootstrap, tmp_path, street="Rolstraat",
        escalation_interval_s=3600, operators_file=operators_file(tmp_path),
    ) as running:  # fmt: skip
        yield running


@asynccontextmanager
async def login(router: Router, name: str) -> AsyncIterator[httpx.AsyncClient]:
    """The browser of an operator logged in by name and password."""
    async with httpx.AsyncClient(base_url=str(router.http.base_url), timeout=30) as browser:
        answer = await browser.post("/login", data={"name": name, "password": PASSWORDS[name]})
        assert answer.status_code == 303, answer.text
        yield browser


async def test_a_gebiedsmanager_opens_a_wijkhub_under_their_name_and_a_kijker_may_not(
    router: Router,
) -> None:
    await crossed(router)
    async with login(router, "kees") as kijker, login(router, "gert") as manager:
        refused = await kijker.post(
            "/dashboard/wijkhubs", data=open_form(router, await form_token(kijker), "Jan Kijk")
        )
        assert refused.status_code == 403
        assert await router.fetch("SELECT 1 FROM wijkhubs") == []
        opened = await manager.post(
            "/dashboard/wijkhubs", data=open_form(router, await form_token(manager), "Jan Kijk")
        )
        assert opened.status_code == 303, opened.text
        [hub] = await router.fetch("SELECT hub_id, opened_by FROM wijkhubs")
        assert hub["opened_by"] == "gert"
        [decision] = await router.fetch("SELECT decided_by FROM wijkhub_decisions")
        assert decision["decided_by"] == "gert"

        page = f"/dashboard/wijkhubs/{hub['hub_id']}"
        assert "Jan Kijk" in (await manager.get(page)).text
        seen = await kijker.get(page)
        assert seen.status_code == 200 and "Jan Kijk" not in seen.text  # not a kijker's to see
        contact = f"/api/v1/wijkhubs/{hub['hub_id']}/contact"
        assert (await kijker.get(contact)).status_code == 403
        assert (await manager.get(contact)).json()["name"] == "Jan Kijk"
        assert (await manager.delete(contact)).status_code == 403  # erasure: a beheerder's

        rules = await manager.put("/api/v1/rules", content=streets.RULES.encode())
        assert rules.status_code == 403  # the rules of every partner: a beheerder's
    actions = await router.fetch(
        "SELECT operator, action, status FROM operator_actions WHERE action <> 'login' ORDER BY id"
    )
    assert [tuple(r) for r in actions] == [
        ("kees", "POST", 403), ("gert", "POST", 303), ("gert", "DELETE", 403),
        ("gert", "PUT", 403),
    ]  # fmt: skip
