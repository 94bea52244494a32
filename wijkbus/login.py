"""The operators' login and logout, shared by every service's dashboard, and their audit.

An operator logs in with name and password (wijkbus.operators); a service without an operator
registry takes the operator token instead. The session lives server-side (wijkbus.sessions).
Every write an operator makes, and every login and logout, lands in `operator_actions`.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wijkbus import auth, operator_audit, sessions
from wijkbus.networks import client_of
from wijkbus.ratelimit import SharedBuckets
from wijkbus.runtime import ServiceRuntime

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
WRONG = "Onjuiste naam of wachtwoord."
# Failed logins, per name and per client, shared by the service's replicas: past ten in a row,
# one more every 30 seconds. A password cannot be guessed faster, from one place or many.
FAILED_LOGINS = SharedBuckets("operator-logins", rate_per_s=1 / 30, burst=10)
TOO_MANY = "Te veel mislukte pogingen. Probeer het over {s} seconden opnieuw."


def install(app: FastAPI, runtime: ServiceRuntime, title: str) -> None:
    """GET/POST /login, POST /logout and the audit of operators' writes, on `app`."""
    settings = runtime.settings
    cookie = auth.cookie_name(settings.service_name)

    def form(request: Request, next: str, error: str | None, status: int = 200) -> Response:
        context = {"next": safe_next(next), "title": title, "error": error,
                   "with_accounts": bool(app.state.operators.operators),
                   "with_oidc": bool(settings.oidc_issuer)}  # fmt: skip
        return app.state.templates.TemplateResponse(request, "login.html", context, status)

    @app.get("/login", include_in_schema=False, response_class=HTMLResponse)
    async def login_form(request: Request, next: str = "/dashboard") -> Response:
        return form(request, next, None)

    @app.post("/login", include_in_schema=False, response_model=None)
    async def login(request: Request, name: str = Form(""), password: str = Form(""),
                    token: str = Form(""), next: str = Form("/dashboard")) -> Response:  # fmt: skip
        keys = [f"name:{name.strip().lower()}", f"client:{client_of(request)}"]
        if wait := max([await FAILED_LOGINS.wait(runtime.pool, k) for k in keys]):
            held = form(request, next, TOO_MANY.format(s=math.ceil(wait)), 429)
            held.headers["Retry-After"] = str(math.ceil(wait))
            return held
        found = _account(app, name, password, token, settings.operator_token)
        if found is None:
            for key in keys:
                await FAILED_LOGINS.spend(runtime.pool, key)
            return form(request, next, WRONG, 401)
        response = RedirectResponse(safe_next(next), status_code=303)
        via = "token" if token else "password"
        await open_session(request, runtime, found.name, found.role, via, response)
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> RedirectResponse:
        found = await auth.actor(request)
        if found is not None and found.session is not None:
            await sessions.end(runtime.pool, found.session, auth.now())
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(cookie)
        return response

    app.state.login_form = form
    app.add_middleware(Audited, runtime=runtime)


async def open_session(
    request: Request, runtime: ServiceRuntime, name: str, role: str, via: str, response: Response
) -> None:
    """Start the operator's session, record the login, and set its cookie on `response`."""
    settings, at = runtime.settings, auth.now()
    value = await sessions.start(runtime.pool, name, role, via, at, settings.session_ttl_s)
    await operator_audit.record(runtime.pool, at, name, role, "login", request.url.path, 303)
    # Secure wherever the operator came over https (behind a proxy: its forwarded scheme).
    response.set_cookie(auth.cookie_name(settings.service_name), value, httponly=True,
                        max_age=int(settings.session_ttl_s), samesite="strict",
                        secure=request.url.scheme == "https")  # fmt: skip


def _account(app: FastAPI, name: str, password: str, token: str, operator_token: str) -> Any:
    """The operator these credentials are of: a registered account, or the token's beheerder."""
    if token:
        valid = auth.is_operator_token(token, operator_token)
        return auth.Actor(auth.TOKEN_OPERATOR, "beheerder") if valid else None
    return app.state.operators.login(name.strip(), password) if name and password else None


class Audited:
    """ASGI middleware: after an operator's write, one `operator_actions` row with its status.

    Who acted is what the route's auth dependency found (`auth.actor`, kept in the request's
    state); a request no operator made leaves no row.
    """

    def __init__(self, app: ASGIApp, runtime: ServiceRuntime) -> None:
        self.app, self.runtime = app, runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; record it if an operator wrote."""
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        status = 500

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, sent)
        found = scope.get("state", {}).get("actor")
        if isinstance(found, auth.Actor):
            path = scope["path"]
            action = "logout" if path == "/logout" else scope["method"]
            await operator_audit.record(
                self.runtime.pool, auth.now(), found.name, found.role, action, path, status
            )


def safe_next(path: str) -> str:
    """Only same-site paths: never redirect an operator to another host after login."""
    return path if path.startswith("/") and not path.startswith("//") else "/dashboard"
