"""A hot route answers a valid JSON body as the usual route would, hands every other request
to FastAPI's own handler (so the errors are FastAPI's), documents the same, and refuses an
endpoint with dependencies, which it would otherwise run without them."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from wijkbus.hot_route import HotRoute


class Vote(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, Field(min_length=4, max_length=20)]
    choices: Annotated[list[str], Field(max_length=3)]


def _app(route_class: type) -> tuple[FastAPI, list[Vote]]:
    seen: list[Vote] = []
    router = APIRouter(prefix="/api", route_class=route_class)

    @router.post("/votes", status_code=201, responses={409: {}})
    async def vote(body: Vote, request: Request) -> Any:
        """Cast a vote."""
        seen.append(body)
        if body.code == "used-code":
            return JSONResponse({"title": "used"}, status_code=409)
        return {"status": "gestemd", "choices": body.choices, "path": request.url.path}

    app = FastAPI()
    app.include_router(router)
    return app, seen


REQUESTS: list[tuple[dict[str, str], bytes]] = [
    ({"content-type": "application/json"}, b'{"code": "abcd-efgh", "choices": ["a", "b"]}'),
    ({"content-type": "application/json; charset=utf-8"}, b'{"code": "abcd", "choices": []}'),
    ({"content-type": "application/json"}, b'{"code": "used-code", "choices": ["a"]}'),
    ({"content-type": "application/json"}, b'{"code": "ab", "choices": []}'),  # too short
    ({"content-type": "application/json"}, b'{"code": "abcd", "choices": [], "x": 1}'),  # extra
    ({"content-type": "application/json"}, b'{"code": "abcd"'),  # not JSON
    ({"content-type": "application/json"}, b"[1, 2]"),
    ({"content-type": "application/json"}, b'"\xff"'),  # not UTF-8
    ({"content-type": "application/json"}, b""),
    ({"content-type": "text/plain"}, b'{"code": "abcd", "choices": []}'),
    ({"content-type": "application/vnd.x+json"}, b'{"code": "abcd", "choices": []}'),
    ({}, b'{"code": "abcd", "choices": []}'),
]


@pytest.mark.parametrize(("headers", "body"), REQUESTS)
async def test_every_answer_is_the_usual_routes(headers: dict[str, str], body: bytes) -> None:
    answers = []
    for route_class in (HotRoute, APIRoute):
        app, _ = _app(route_class)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            r = await client.post("/api/votes", content=body, headers=headers)
        answers.append((r.status_code, r.json(), r.headers["content-type"]))
    assert answers[0] == answers[1]


async def test_a_valid_body_reaches_the_endpoint_as_the_model_without_fastapis_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, seen = _app(HotRoute)

    async def not_for_hot_requests(**_: Any) -> None:
        raise AssertionError("FastAPI's own handler ran for a valid body")

    monkeypatch.setattr("fastapi.routing.solve_dependencies", not_for_hot_requests)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        r = await client.post("/api/votes", json={"code": "abcd-efgh", "choices": ["a"]})
    assert r.status_code == 201 and r.json()["path"] == "/api/votes"
    assert seen == [Vote(code="abcd-efgh", choices=["a"])]


def test_the_api_documents_a_hot_route_as_any_other() -> None:
    hot, _ = _app(HotRoute)
    usual, _ = _app(APIRoute)
    assert hot.openapi() == usual.openapi()


def test_an_endpoint_with_a_dependency_cannot_be_hot() -> None:
    router = APIRouter(route_class=HotRoute, dependencies=[Depends(lambda: None)])
    with pytest.raises(TypeError, match="no dependencies"):

        @router.post("/votes")
        async def vote(body: Vote, request: Request) -> Any:
            return {}

    plain = APIRouter(route_class=HotRoute)
    with pytest.raises(TypeError, match="no dependencies"):

        @plain.post("/votes/{n}")
        async def numbered(n: int, body: Vote, request: Request) -> Any:
            return {}
