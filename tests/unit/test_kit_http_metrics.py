"""The kit counts every HTTP request by its route template and status, never by its raw path."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY, generate_latest

from wijkbus.http_metrics import UNMATCHED, RequestMetrics

CANARY = "Jantje-Canarie-Pietersen"


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("no")

    app.add_middleware(RequestMetrics, service="kit-test")
    return app


def _count(route: str, method: str, status: str) -> float:
    labels = {"service": "kit-test", "route": route, "method": method, "status": status}
    return REGISTRY.get_sample_value("wijkbus_http_requests_total", labels) or 0.0


async def test_requests_are_counted_by_route_template_status_and_timed() -> None:
    before = {
        "ok": _count("/things/{thing_id}", "GET", "200"),
        "missing": _count(UNMATCHED, "GET", "404"),
        "crash": _count("/broken", "GET", "500"),
        "odd": _count("/things/{thing_id}", "other", "405"),
    }
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get(f"/things/{CANARY}")).status_code == 200
        assert (await http.get(f"/things/{CANARY}-2")).status_code == 200
        assert (await http.get(f"/nowhere/{CANARY}")).status_code == 404
        assert (await http.get("/broken")).status_code == 500
        assert (await http.request("BREW", f"/things/{CANARY}")).status_code == 405
    assert _count("/things/{thing_id}", "GET", "200") == before["ok"] + 2
    assert _count(UNMATCHED, "GET", "404") == before["missing"] + 1
    assert _count("/broken", "GET", "500") == before["crash"] + 1
    assert _count("/things/{thing_id}", "other", "405") == before["odd"] + 1
    timed = REGISTRY.get_sample_value(
        "wijkbus_http_request_duration_seconds_count",
        {"service": "kit-test", "route": "/things/{thing_id}", "method": "GET"},
    )
    assert timed is not None and timed >= 2
    assert CANARY not in generate_latest().decode()
