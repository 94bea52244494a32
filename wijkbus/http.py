"""The HTTP side every service shares: problem+json, headers, health, metrics (login: login.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import jinja2
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wijkbus import api_docs, auth, login, media, oidc_login
from wijkbus.http_metrics import RequestMetrics
from wijkbus.logging import get_logger
from wijkbus.operators import load_operators
from wijkbus.runtime import ServiceRuntime
from wijkbus.web import buurten, dutch_reasons, dutch_time

API_VERSION = "1.0.0"
PROBLEM = "application/problem+json"
log = get_logger(__name__)
KIT_TEMPLATES = Path(__file__).parent / "web" / "templates"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    ),
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "API-Version": API_VERSION,
}


# Every /api/v1 operation that can answer 401 takes a Bearer key (a partner's API key or the
# operator token) or the operator's dashboard login cookie.
def security_schemes(service: str) -> dict[str, dict[str, str]]:
    """The OpenAPI security schemes of a service (its login cookie is named after it)."""
    return {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A partner's API key, or the operator token (WIJKBUS_OPERATOR_TOKEN).",
        },
        "operatorCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": auth.cookie_name(service),
            "description": "The operator's dashboard session, set by POST /login.",
        },
    }


SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"operatorCookie": []}]


def problem(
    status: int,
    title: str,
    *,
    detail: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An RFC 9457 problem response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def templates(service_dir: Path) -> Jinja2Templates:
    """Templates from the service's web/templates, falling back to the kit's (base, login)."""
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(service_dir / "web" / "templates"),
                jinja2.FileSystemLoader(KIT_TEMPLATES),
            ]
        ),
        autoescape=True,
    )
    env.filters.update(
        moment=dutch_time.moment,
        date_nl=dutch_time.date,
        duration=dutch_time.duration,
        euros=dutch_time.euros,
        refusal=dutch_reasons.refusal,
        dead_reason=dutch_reasons.dead_letter,
        status_nl=dutch_reasons.status,
    )
    return Jinja2Templates(env=env)


def create_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    service_dir: Path,
    on_start: Callable[[], Awaitable[None]] | None = None,
    on_stop: Callable[[], Awaitable[None]] | None = None,
) -> FastAPI:
    """A FastAPI app with the kit's routes; the lifespan starts and stops `runtime`."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        if on_start:
            await on_start()
        log.info("service started", port=runtime.settings.port)
        try:
            yield
        finally:
            log.info("service stopping")
            if on_stop:
                await on_stop()
            await runtime.stop()

    app = FastAPI(
        title=title,
        description=description,
        version=API_VERSION,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # api_docs serves Swagger UI with local assets, which the CSP allows
        redoc_url=None,
    )
    app.state.settings = runtime.settings
    app.state.runtime = runtime
    app.state.templates = templates(service_dir)
    app.state.operators = load_operators(runtime.settings.operators_file)
    buurten.names(runtime.settings.buurten_file)  # a wrong file stops the service here
    _install_errors(app)
    _install_kit_routes(app, runtime, title, description)
    login.install(app, runtime, title)
    oidc_login.install(app, runtime)
    app.add_middleware(BodyTimeout, timeout_s=runtime.settings.body_timeout_s)
    _install_openapi(app)
    api_docs.install(app, "/api/v1/openapi.json")

    app.add_middleware(SecurityHeaders)

    # Outermost (inside Starlette's error handler): it sees every answer, a crash as 500.
    app.add_middleware(RequestMetrics, service=runtime.settings.service_name)
    return app


def _install_openapi(app: FastAPI) -> None:
    """The OpenAPI document with the security schemes, on every operation that answers 401."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {})["securitySchemes"] = security_schemes(
                app.state.settings.service_name
            )
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if "401" in operation.get("responses", {}):
                        operation["security"] = SECURITY
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if media.refuses_media(request):
            return problem(415, "unsupported content type", detail="send application/json")
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        return problem(400, "invalid request", errors=errors)

    @app.exception_handler(asyncpg.CharacterNotInRepertoireError)
    @app.exception_handler(asyncpg.UntranslatableCharacterError)
    async def unstorable(_: Request, exc: asyncpg.DataError) -> JSONResponse:
        # The last line of defence: each API refuses such text at its field; a value that
        # reaches PostgreSQL with a NUL anyway is still the caller's input, never a 500.
        return problem(
            400, "invalid request", detail="text with a character that cannot be stored (NUL)"
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(auth.LoginRequired)
    async def login_required(_: Request, exc: auth.LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={quote(exc.next_path)}", status_code=303)


def _install_kit_routes(app: FastAPI, runtime: ServiceRuntime, title: str, desc: str) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        await runtime.sample_metrics()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/docs/asyncapi", include_in_schema=False)
    async def asyncapi() -> dict[str, Any]:
        return runtime.asyncapi(title, desc)


_SECURITY_RAW = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
_OURS = frozenset(name for name, _ in _SECURITY_RAW)


class SecurityHeaders:
    """ASGI middleware: the security headers and API-Version on every answer, and no caching of
    /api/ answers unless the route says otherwise (plain ASGI: no task or stream per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the start of its answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Raw (name, value) pairs: MutableHeaders scans the list once per header set.
                headers = [h for h in message.get("headers", ()) if h[0].lower() not in _OURS]
                if api and not any(h[0].lower() == b"cache-control" for h in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers + _SECURITY_RAW
            await send(message)

        await self.app(scope, receive, sending)


class BodyTimeout:
    """ASGI middleware: the whole request body must arrive within `timeout_s` of the request's
    start, else 408 and the connection is closed (uvicorn bounds only idle keep-alive)."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a `receive` that gives up at the deadline."""
        if scope["type"] != "http" or self.timeout_s <= 0:
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        complete = False

        async def bounded() -> Message:
            nonlocal complete
            if complete:  # after the body: only a disconnect can come, wait for it freely
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                # Raised into the handler that reads the body; the app's handler for
                # HTTPException turns it into a problem+json answer.
                raise StarletteHTTPException(
                    408,
                    f"the request body did not arrive within {self.timeout_s:g} s",
                    headers={"Connection": "close"},
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, bounded, send)
