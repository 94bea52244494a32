"""Named operators log in to a dashboard, act within their role, and are recorded by name.

Run against budget (a real service with PostgreSQL): its writes are budgetbeheer's; a kijker
only reads; logout and expiry end a session, wherever its cookie was copied to.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml

from tests.integration.test_budget_journey_pages import propose
from tests.integration.test_budget_support import OPERATOR, Buurt, running_buurt
from wijkbus import auth
from wijkbus.operators import hash_password

ROLES = {"anne": "beheerder", "gert": "gebiedsmanager", "bea": "budgetbeheer", "kees": "kijker"}
PASSWORDS = {name: f"wachtwoord-van-{name}" for name in ROLES}
COOKIE = auth.cookie_name("budget")


def operators_file(tmp_path: Path) -> Path:
    """A registry with one operator per role (the passwords in PASSWORDS)."""
    path = tmp_path / "operators.yaml"
    entries = [
        {"name": n, "role": r, "password_scrypt": hash_password(PASSWORDS[n])}
        for n, r in ROLES.items()
    ]
    path.write_text(yaml.safe_dump(entries))
    return path


@asynccontextmanager
async def logged_in(b: Buurt, name: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The operator's browser, logged in by name and password, and the dashboard's form token."""
    async with httpx.AsyncClient(base_url=b.url, timeout=30) as browser:
        login = await browser.post("/login", data={"name": name, "password": PASSWORDS[name]})
        assert login.status_code == 303, login.text
        page = await browser.get("/dashboard")
        assert page.status_code == 200 and f"{name} ({ROLES[name]})" in page.text
        found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
        yield browser, found.group(1) if found else ""  # no forms without initiatives


@pytest.fixture
async def b(fresh_database: str, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Buurt]:
    """Budget with a prepared buurt and the operators of `operators_file`."""
    registry = operators_file(tmp_path)
    async with running_buurt(fresh_database, kafka_bootstrap, operators_file=registry) as buurt:
        yield buurt


async def initiative(b: Buurt) -> str:
    assert (await propose(b, b.codes[0])).status_code in (200, 303)
    rows = await b.fetch("SELECT initiative_id::text AS id FROM initiatives")
    return str(rows[-1]["id"])


async def test_only_a_budgetbeheerder_or_beheerder_takes_budget_steps_and_each_is_recorded(
    b: Buurt,
) -> None:
    bankje = await initiative(b)
    admit = f"/dashboard/initiatieven/{bankje}/toelaten"
    for name in ("kees", "gert"):
        async with logged_in(b, name) as (browser, csrf):
            refused = await browser.post(admit, data={"csrf_token": csrf, "deadline": "2026-12-24"})
            assert refused.status_code == 403, name
            contact = await browser.get(f"/api/v1/initiatives/{bankje}/contact")
            assert contact.status_code == 403  # the initiator's contact is not theirs
            assert (await browser.get(f"/api/v1/initiatives/{bankje}")).status_code == 200
    assert (await b.fetch("SELECT status FROM initiatives"))[0]["status"] == "voorgesteld"
    async with logged_in(b, "bea") as (browser, csrf):
        admitted = await browser.post(admit, data={"csrf_token": csrf, "deadline": "2026-12-24"})
        assert admitted.status_code == 303
        assert (await browser.get(f"/api/v1/initiatives/{bankje}/contact")).status_code == 200
    assert (await b.fetch("SELECT status FROM initiatives"))[0]["status"] == "open"

    actions = await b.fetch(
        "SELECT operator, role, action, target, status FROM operator_actions"
        " WHERE action <> 'login' ORDER BY id"
    )
    assert [tuple(r) for r in actions] == [
        ("kees", "kijker", "POST", admit, 403),
        ("gert", "gebiedsmanager", "POST", admit, 403),
        ("bea", "budgetbeheer", "POST", admit, 303),
    ]
    logins = await b.fetch("SELECT operator FROM operator_actions WHERE action = 'login'")
    assert [r["operator"] for r in logins] == ["kees", "gert", "bea"]


async def test_a_wrong_password_or_an_unknown_name_is_no_login(b: Buurt) -> None:
    form = await b.http.get("/login")
    assert 'name="password"' in form.text and 'name="token"' not in form.text
    for name, password in [("anne", PASSWORDS["bea"]), ("onbekend", PASSWORDS["anne"])]:
        answer = await b.http.post("/login", data={"name": name, "password": password})
        assert answer.status_code == 401
        assert "Onjuiste naam of wachtwoord." in answer.text
        assert COOKIE not in answer.headers.get("set-cookie", "")
    assert await b.fetch("SELECT 1 FROM operator_sessions") == []


async def test_guessing_a_password_is_held_back_per_name_and_per_client(b: Buurt) -> None:
    for _ in range(11):  # wrong passwords in a row are answered as wrong, past ten as well
        answer = await b.http.post("/login", data={"name": "anne", "password": "raden"})
        assert answer.status_code == 401
    held = await b.http.post("/login", data={"name": "anne", "password": PASSWORDS["anne"]})
    assert held.status_code == 429  # the right one too, now: guessing cannot go faster
    assert 0 < int(held.headers["Retry-After"]) <= 30
    assert "Te veel mislukte pogingen" in held.text
    assert COOKIE not in held.headers.get("set-cookie", "")
    other = await b.http.post("/login", data={"name": "bea", "password": PASSWORDS["bea"]})
    assert other.status_code == 429  # the same client, trying another name
    failed = await b.fetch("SELECT count(*) AS n FROM rate_buckets")
    assert failed[0]["n"] >= 2  # kept in the database: every replica holds back the same


async def test_logout_ends_the_session_so_a_copied_cookie_stops_working(b: Buurt) -> None:
    async with (
        logged_in(b, "anne") as (browser, _),
        httpx.AsyncClient(base_url=b.url, timeout=30) as thief,
    ):
        thief.cookies.set(COOKIE, browser.cookies[COOKIE])
        assert (await thief.get("/dashboard")).status_code == 200
        assert (await browser.post("/logout")).status_code == 303
        page = await thief.get("/dashboard")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert (await thief.get("/api/v1/initiatives/x")).status_code == 401
    stored = await b.fetch("SELECT token_sha256, ended_at FROM operator_sessions")
    assert len(stored) == 1 and stored[0]["ended_at"] is not None
    assert browser.cookies.get(COOKIE) is None
    assert stored[0]["token_sha256"] != thief.cookies[COOKIE]  # only its hash is kept
    logout = await b.fetch("SELECT operator FROM operator_actions WHERE action = 'logout'")
    assert [r["operator"] for r in logout] == ["anne"]


async def test_a_session_expires_after_its_time(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with (
        running_buurt(
            fresh_database,
            kafka_bootstrap,
            operators_file=operators_file(tmp_path),
            session_ttl_s=2,
        ) as b,
        httpx.AsyncClient(base_url=b.url, timeout=30) as browser,
    ):
        login = await browser.post("/login", data={"name": "kees", "password": PASSWORDS["kees"]})
        assert "Max-Age=2" in login.headers["set-cookie"]
        assert (await browser.get("/dashboard")).status_code == 200
        kept = browser.cookies[COOKIE]
        await asyncio.sleep(2.5)
        browser.cookies.set(COOKIE, kept)  # as a browser that ignores Max-Age would
        page = await browser.get("/dashboard")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")


async def test_the_operator_token_acts_as_a_beheerder_named_by_its_header(b: Buurt) -> None:
    bankje = await initiative(b)
    declined = await b.http.post(
        f"/api/v1/initiatives/{bankje}/decline", json={"reason": "Buiten de regels."},
        headers={**OPERATOR, "X-Wijkbus-Operator": "script-jaarafsluiting"},
    )  # fmt: skip
    assert declined.status_code == 200, declined.text
    kept = await b.http.post("/login", data={"token": "operator-test-token"})
    assert kept.status_code == 303  # scripts and tests log in with the token still
    actions = await b.fetch("SELECT operator, role, action FROM operator_actions ORDER BY id")
    assert [tuple(r) for r in actions] == [
        ("script-jaarafsluiting", "beheerder", "POST"),
        ("operator", "beheerder", "login"),
    ]


async def test_a_login_forgets_sessions_expired_a_month_ago_but_not_what_was_done(
    b: Buurt,
) -> None:
    conn = await asyncpg.connect(b.database_url, server_settings={"search_path": "budget"})
    try:
        await conn.execute(
            "INSERT INTO operator_sessions VALUES ('oud', 'anne', 'beheerder', 'password',"
            " now() - interval '41 days', now() - interval '31 days', NULL),"
            " ('recent', 'anne', 'beheerder', 'password',"
            " now() - interval '3 days', now() - interval '2 days', NULL)"
        )
    finally:
        await conn.close()
    async with logged_in(b, "kees"):
        pass
    kept = await b.fetch("SELECT token_sha256, operator FROM operator_sessions ORDER BY started_at")
    assert [r["token_sha256"] for r in kept][:1] == ["recent"] and len(kept) == 2
    assert [r["operator"] for r in await b.fetch("SELECT operator FROM operator_actions")] == [
        "kees"
    ]


async def test_a_changed_registry_ends_a_removed_account_s_session_and_changes_a_role(
    b: Buurt, tmp_path: Path
) -> None:
    bankje = await initiative(b)
    admit = f"/dashboard/initiatieven/{bankje}/toelaten"
    async with logged_in(b, "kees") as (kijker, _), logged_in(b, "bea") as (bea, csrf):
        path = tmp_path / "operators.yaml"
        entries = [e for e in yaml.safe_load(path.read_text()) if e["name"] != "kees"]
        for entry in entries:
            entry["role"] = "kijker" if entry["name"] == "bea" else entry["role"]
        path.write_text(yaml.safe_dump(entries))
        os.utime(path, (time.time() + 10, time.time() + 10))
        gone = await kijker.get("/dashboard")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
        demoted = await bea.post(admit, data={"csrf_token": csrf, "deadline": "2026-12-24"})
        assert demoted.status_code == 403
