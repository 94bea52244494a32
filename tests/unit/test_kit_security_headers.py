"""Every answer carries the security headers; /api/ answers are not cached unless they say so."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from wijkbus.http import SECURITY_HEADERS, SecurityHeaders


def _page(_: Request) -> PlainTextResponse:
    return PlainTextResponse("pagina")


def _cached(_: Request) -> PlainTextResponse:
    return PlainTextResponse("bestand", headers={"Cache-Control": "max-age=60"})


async def test_security_headers_on_pages_and_api_answers_and_no_store_only_on_the_api() -> None:
    app = Starlette(routes=[Route("/buurt", _page), Route("/api/v1/x", _page),
                            Route("/api/v1/cached", _cached)])  # fmt: skip
    app.add_middleware(SecurityHeaders)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        page, api, cached, missing = [
            await client.get(p) for p in ("/buurt", "/api/v1/x", "/api/v1/cached", "/nergens")
        ]
    for answer in (page, api, cached):
        assert {k: answer.headers[k] for k in SECURITY_HEADERS} == SECURITY_HEADERS
    assert "Cache-Control" not in page.headers
    assert api.headers["Cache-Control"] == "no-store"
    assert cached.headers["Cache-Control"] == "max-age=60"
    assert missing.status_code == 404 and missing.headers["X-Frame-Options"] == "DENY"
