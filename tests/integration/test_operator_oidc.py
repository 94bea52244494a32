"""Operators log in through an OpenID Connect provider: a real one on loopback (a small
authorization-code provider with its own RSA key), against the real budget service."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.integration.test_budget_support import Buurt, running_buurt
from tests.support import running_app

CLIENT_ID, CLIENT_SECRET = "wijkbus-budget", "client-geheim"


def provider(claims: dict[str, Any]) -> FastAPI:
    """An OpenID Connect provider that logs in whoever `claims` describe, at once."""
    app, key, codes = FastAPI(), RSAKey.generate_key(2048, {"kid": "k1"}, private=True), {}

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @app.get("/.well-known/openid-configuration")
    async def metadata(request: Request) -> dict[str, str]:
        at = base(request)
        return {"issuer": at, "authorization_endpoint": f"{at}/authorize",
                "token_endpoint": f"{at}/token", "jwks_uri": f"{at}/jwks"}  # fmt: skip

    @app.get("/authorize")
    async def authorize(redirect_uri: str, state: str, nonce: str, client_id: str) -> Any:
        assert client_id == CLIENT_ID
        code = secrets.token_urlsafe(16)
        codes[code] = nonce
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", 303)

    @app.post("/token")
    async def token(request: Request) -> dict[str, str]:
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = await request.form()
        nonce = codes.pop(str(form.get("code")), None)
        if request.headers.get("authorization") != f"Basic {basic}" or nonce is None:
            raise HTTPException(400, "invalid_grant")
        now = int(time.time())
        payload = {"iss": base(request), "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                   "sub": "u-1", "nonce": nonce, **claims}  # fmt: skip
        signed = jwt.encode({"alg": "RS256", "kid": "k1"}, payload, key)
        return {"access_token": "at", "token_type": "Bearer", "id_token": signed}

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        return KeySet([key]).as_dict(private=False)

    return app


@pytest.fixture
def claims() -> dict[str, Any]:
    return {"preferred_username": "gert", "wijkbus_role": "gebiedsmanager"}


@pytest.fixture
async def b(
    fresh_database: str, kafka_bootstrap: str, claims: dict[str, Any]
) -> AsyncIterator[Buurt]:
    async with running_app(provider(claims)) as issuer, running_buurt(
        fresh_database, kafka_bootstrap, oidc_issuer=issuer, oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    ) as buurt:  # fmt: skip
        yield buurt


async def test_an_operator_logs_in_at_the_provider_with_the_role_it_gives(b: Buurt) -> None:
    async with httpx.AsyncClient(base_url=b.url, timeout=30, follow_redirects=True) as browser:
        assert 'href="/login/oidc?next=/dashboard"' in (await browser.get("/login")).text
        back = await browser.get("/login/oidc", params={"next": "/dashboard"})
        assert back.status_code == 200 and 'url=/dashboard"' in back.text
        page = await browser.get("/dashboard")
        assert page.status_code == 200 and "gert (gebiedsmanager)" in page.text
        refused = await browser.post("/api/v1/rounds", json={})
        assert refused.status_code == 403  # a budget step is not a gebiedsmanager's
    sessions = await b.fetch("SELECT operator, role, via FROM operator_sessions")
    assert [tuple(r) for r in sessions] == [("gert", "gebiedsmanager", "oidc")]
    logins = await b.fetch("SELECT operator, target FROM operator_actions WHERE action = 'login'")
    assert [tuple(r) for r in logins] == [("gert", "/login/oidc/callback")]


async def test_a_callback_without_the_browser_s_own_login_flow_logs_no_one_in(b: Buurt) -> None:
    async with httpx.AsyncClient(base_url=b.url, timeout=30) as victim:
        forged = await victim.get("/login/oidc/callback", params={"code": "c", "state": "s"})
        assert forged.status_code == 400
        assert "Inloggen via de identiteitsprovider is mislukt." in forged.text
    assert await b.fetch("SELECT 1 FROM operator_sessions") == []


@pytest.mark.parametrize(
    "claims",
    [
        {"preferred_username": "mallory", "wijkbus_role": "baas"},  # no wijkbus role
        {"preferred_username": "gert", "wijkbus_role": "beheerder", "aud": "another-client"},
        {"preferred_username": "gert", "wijkbus_role": "beheerder", "nonce": "replayed"},
        {"preferred_username": "gert", "wijkbus_role": "beheerder", "exp": 1},
    ],
)
async def test_an_id_token_that_does_not_check_out_logs_no_one_in(b: Buurt) -> None:
    async with httpx.AsyncClient(base_url=b.url, timeout=30, follow_redirects=True) as browser:
        back = await browser.get("/login/oidc", params={"next": "/dashboard"})
        assert back.status_code == 401
        assert "Inloggen via de identiteitsprovider is mislukt." in back.text
        assert (await browser.get("/dashboard")).url.path == "/login"
    assert await b.fetch("SELECT 1 FROM operator_sessions") == []
