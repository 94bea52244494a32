"""GET /login/oidc and its callback: an operator logs in at the OpenID Connect provider."""

from __future__ import annotations

import html

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from wijkbus import auth
from wijkbus.login import open_session, safe_next
from wijkbus.oidc import FLOW_COOKIE, FLOW_TTL_S, OidcRefused, Provider, new_flow
from wijkbus.runtime import ServiceRuntime

FAILED = "Inloggen via de identiteitsprovider is mislukt."


def install(app: FastAPI, runtime: ServiceRuntime) -> None:
    """The provider's login routes, when WIJKBUS_OIDC_ISSUER is set."""
    s = runtime.settings
    if not s.oidc_issuer:
        return
    provider = Provider(s.oidc_issuer, s.oidc_client_id, s.oidc_client_secret, s.oidc_role_claim)

    @app.get("/login/oidc", include_in_schema=False)
    async def to_provider(request: Request, next: str = "/dashboard") -> Response:
        state, nonce = new_flow()
        url = await provider.authorize_url(_callback(request), state, nonce)
        response = RedirectResponse(url, status_code=303)
        # Lax, not strict: the browser brings it back from the provider's site.
        response.set_cookie(FLOW_COOKIE, f"{state}.{nonce}.{safe_next(next)}", path="/login/oidc",
                            max_age=FLOW_TTL_S, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")  # fmt: skip
        return response

    @app.get("/login/oidc/callback", include_in_schema=False)
    async def from_provider(request: Request, code: str = "", state: str = "") -> Response:
        kept = request.cookies.get(FLOW_COOKIE, "").split(".", 2)
        if len(kept) != 3 or not code or not auth.same_secret(state, kept[0]):
            return app.state.login_form(request, "/dashboard", FAILED, 400)
        try:
            name, role = await provider.operator(code, _callback(request), kept[1])
        except (OidcRefused, httpx.HTTPError):
            return app.state.login_form(request, kept[2], FAILED, 401)
        # A page, not a redirect: the strict session cookie goes along on a same-site step only.
        target = html.escape(safe_next(kept[2]))
        response = HTMLResponse(f'<meta http-equiv="refresh" content="0;url={target}">'
                                f'<a href="{target}">Verder</a>')  # fmt: skip
        response.delete_cookie(FLOW_COOKIE, path="/login/oidc")
        await open_session(request, runtime, name, role, "oidc", response)
        return response


def _callback(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/login/oidc/callback"
