"""Inputs the e2e schemathesis run (tests/e2e/test_api_fuzz.py) found answering 500 on routing:
each is now a precise 4xx, never a 500."""

from __future__ import annotations

import httpx

from tests.integration import test_routing_streets as streets
from tests.integration.test_routing_flow import Router
from tests.integration.test_routing_wijkhub_pages import browser, crossed, form_token, open_form
from wijkbus import auth

router = streets.router
__all__ = ["browser", "router"]  # fixtures, used here

PLAN = {
    "address": "Asingastraat 1",
    "starts_on": "2026-11-21",
    "ends_on": "2027-01-01",
    "partners": ["politie-groningen"],
    "contact": {"name": "Jan", "role": "wijkagent"},
    "aims": "minder overlast",
}


async def test_a_form_token_with_non_ascii_characters_is_a_wrong_token(
    router: Router, browser: httpx.AsyncClient
) -> None:
    # Was a TypeError in hmac.compare_digest (non-ASCII str): 500 on every dashboard form.
    answer = await browser.post(
        "/dashboard/wijkhubs/advice/naam:groningen:x/decline",
        data={"csrf_token": "\u00a9\u0085\x12", "reason": "nee"},
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_login_cookie_with_non_ascii_characters_is_no_login(router: Router) -> None:
    # The same TypeError for the operator's session cookie, on the API and on the pages.
    # As a browser may send it.
    cookie = {"Cookie": f"{auth.cookie_name('routing')}=s\u00e9ssion".encode("latin-1")}
    async with httpx.AsyncClient(base_url=str(router.http.base_url), headers=cookie) as client:
        api = await client.get("/api/v1/wijkhubs/advice")
        page = await client.get("/dashboard")
    assert api.status_code == 401
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


async def test_a_nul_character_in_a_wijkhub_s_text_is_refused_at_its_field(
    router: Router,
) -> None:
    # Was CharacterNotInRepertoireError from PostgreSQL (text cannot hold NUL): a 500.
    await crossed(router)
    for body, field in [
        ({**PLAN, "street_keys": ["naam:groningen:\x00x"]}, "street_keys.0"),
        ({**PLAN, "street_keys": [router.street_key], "address": "Asinga\x00straat"}, "address"),
        ({**PLAN, "street_keys": [router.street_key], "aims": "minder\x00"}, "aims"),
    ]:
        answer = await router.http.post("/api/v1/wijkhubs", json=body, headers=router.operator)
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in answer.json()["errors"]] == [field]
    declined = await router.http.post(
        f"/api/v1/wijkhubs/advice/{router.street_key}/decline",
        json={"reason": "nee\x00"},
        headers=router.operator,
    )
    assert declined.status_code == 400
    assert await router.fetch("SELECT * FROM wijkhubs") == []


async def test_a_nul_character_in_the_open_form_is_shown_as_a_refusal(
    router: Router, browser: httpx.AsyncClient
) -> None:
    await crossed(router)
    form = {**open_form(router, await form_token(browser)), "street_key": "x\x00"}
    answer = await browser.post("/dashboard/wijkhubs", data=form)
    assert answer.status_code == 400
    assert "Straat heeft een ongeldige vorm." in answer.text


async def test_a_nul_character_in_a_path_is_a_400_not_a_database_error(router: Router) -> None:
    # The kit's last line of defence: what reaches PostgreSQL with a NUL is the caller's input.
    for path in ("/api/v1/streets/naam:groningen:a%00b", "/api/v1/buurten/BU%0000000"):
        answer = await router.http.get(path, headers=router.operator)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
