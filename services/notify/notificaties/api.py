"""The Notificaties API (VNG, 1.0) face of notify: kanalen to read, abonnementen to manage.

Under /notificaties/api/v1, with the same authorisation as /api/v1/subscriptions (a partner's
API key: its own abonnementen, hearing only of itself; the operator token: all). Errors are
the standard's `Fout` / `ValidatieFout` (problem+json with `code`, `instance` and, for 400,
`invalid-params`). Kanalen are fixed: wijkbus publishes them; POST /kanaal and POST
/notificaties (publishing through notify) are not offered.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from services.notify import hearing, store
from services.notify.notificaties import store as abonnement_store
from services.notify.notificaties.abonnementen import Abonnementen, AbonnementIn, AbonnementPatch
from services.notify.notificaties.kanalen import KANALEN, Kanaal
from services.notify.subscriptions import Refused
from wijkbus import auth
from wijkbus.http import PROBLEM

PREFIX = "/notificaties/api/v1"


def fout(request: Request, status: int, title: str, invalid: list[dict[str, str]] | None = None,
         detail: str | None = None) -> JSONResponse:  # fmt: skip
    """The standard's error: `Fout`, or `ValidatieFout` with `invalid-params` for a 400."""
    code = "invalid" if invalid else title.replace(" ", "-")
    body: dict[str, Any] = {"type": "about:blank", "code": code, "title": title,
                            "status": status, "detail": detail or title,
                            "instance": str(request.url.path)}  # fmt: skip
    if invalid is not None:
        body["invalid-params"] = [
            {"name": e["field"], "code": "invalid", "reason": e["message"]} for e in invalid
        ]
        body["errors"] = invalid  # as wijkbus's other APIs answer
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


class StandardErrors(APIRoute):
    """A route that answers an invalid body with a `ValidatieFout`, not the kit's problem."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as exc:
                invalid = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"),
                            "message": e["msg"]} for e in exc.errors()]  # fmt: skip
                return fout(request, 400, "invalid request", invalid)

        return route


router = APIRouter(prefix=PREFIX, tags=["notificaties"], route_class=StandardErrors)
Owner = Depends(auth.partner_or_operator)
Writer = Depends(auth.partner_or_beheerder)  # of the operators, only a beheerder changes them


def _url(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + PREFIX + path


def _kanaal(request: Request, kanaal: Kanaal) -> dict[str, Any]:
    return {"url": _url(request, f"/kanaal/{kanaal.uuid}"), "naam": kanaal.naam,
            "documentatieLink": str(request.base_url).rstrip("/") + "/api/v1/docs",
            "filters": list(kanaal.filters)}  # fmt: skip


def _abonnement(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    """An abonnement as the standard shows it; `auth` is never shown again."""
    return {"url": _url(request, f"/abonnement/{row['id']}"), "callbackUrl": row["callback_url"],
            "kanalen": row["kanalen"]}  # fmt: skip


@router.get("/kanaal", responses={401: {}})
async def list_kanalen(request: Request, naam: str | None = None, _: str | None = Owner) -> Any:
    """wijkbus's kanalen (by `naam`), with the kenmerken their notificaties carry."""
    return [_kanaal(request, k) for k in KANALEN if naam is None or k.naam == naam]


@router.get("/kanaal/{uuid}", responses={401: {}, 404: {}})
async def read_kanaal(uuid: str, request: Request, _: str | None = Owner) -> Any:
    """One kanaal."""
    found = next((k for k in KANALEN if k.uuid == uuid), None)
    return fout(request, 404, "not found") if found is None else _kanaal(request, found)


@router.get("/abonnement", responses={401: {}})
async def list_abonnementen(request: Request, owner: str | None = Owner) -> Any:
    """The caller's abonnementen (an operator's: all)."""
    async with request.app.state.runtime.pool.acquire() as conn:
        rows = await abonnement_store.abonnementen(conn, owner)
    return [_abonnement(request, r) for r in rows]


@router.post("/abonnement", status_code=201, responses={400: {}, 401: {}})
async def create_abonnement(
    body: AbonnementIn, request: Request, owner: str | None = Writer
) -> Any:
    """Subscribe a callback to kanalen; a test notificatie must be answered with 2xx first.
    The answer adds `signingSecret` (shown once) for the wijkbus-signature of each POST."""
    abonnementen: Abonnementen = request.app.state.abonnementen
    try:
        made, secret = await abonnementen.create(
            request.app.state.runtime.pool, body, owner, lambda i: _url(request, f"/abonnement/{i}")
        )
    except Refused as refused:
        return fout(request, refused.status, refused.title, refused.errors or None, refused.detail)
    return await _show(request, made, owner, 201, {"signingSecret": secret})


@router.get("/abonnement/{uuid}", responses={401: {}, 404: {}})
async def read_abonnement(uuid: str, request: Request, owner: str | None = Owner) -> Any:
    """One abonnement; 404 for anyone but its owner and operators."""
    return await _show(request, uuid, owner)


@router.put("/abonnement/{uuid}", responses={400: {}, 401: {}, 404: {}})
async def replace_abonnement(
    uuid: str, body: AbonnementIn, request: Request, owner: str | None = Writer
) -> Any:
    """Replace callbackUrl, auth and kanalen (a new callback is tested first)."""
    return await _change(request, uuid, AbonnementPatch(**body.model_dump()), owner)


@router.patch("/abonnement/{uuid}", responses={400: {}, 401: {}, 404: {}})
async def change_abonnement(
    uuid: str, body: AbonnementPatch, request: Request, owner: str | None = Writer
) -> Any:
    """Change some of callbackUrl, auth and kanalen."""
    return await _change(request, uuid, body, owner)


@router.delete(
    "/abonnement/{uuid}", status_code=204, response_class=Response, responses={401: {}, 404: {}}
)
async def delete_abonnement(uuid: str, request: Request, owner: str | None = Writer) -> Response:
    """End an abonnement; its pending notificaties are cancelled, the delivery log is kept."""
    async with request.app.state.runtime.pool.acquire() as conn, conn.transaction():
        await hearing.changing(conn)  # before the row lock, which a fan-out's insert waits for
        found = await abonnement_store.abonnement(conn, uuid, owner, lock=True)
        if found is None:
            return fout(request, 404, "not found")
        reason = "deleted through the Notificaties API"
        await store.end_subscription(
            conn, found["id"], "deleted", reason, request.app.state.clock()
        )
    return Response(status_code=204)


async def _change(request: Request, uuid: str, changes: AbonnementPatch, owner: str | None) -> Any:
    abonnementen: Abonnementen = request.app.state.abonnementen
    try:
        changed = await abonnementen.change(
            request.app.state.runtime.pool, uuid, changes, owner,
            lambda i: _url(request, f"/abonnement/{i}"),
        )  # fmt: skip
    except Refused as refused:
        return fout(request, refused.status, refused.title, refused.errors or None, refused.detail)
    return await _show(request, uuid, owner) if changed else fout(request, 404, "not found")


async def _show(request: Request, uuid: str, owner: str | None, status: int = 200,
                extra: dict[str, Any] | None = None) -> Any:  # fmt: skip
    async with request.app.state.runtime.pool.acquire() as conn:
        row = await abonnement_store.abonnement(conn, uuid, owner)
    if row is None:
        return fout(request, 404, "not found")
    shown = {**_abonnement(request, row), **(extra or {})}
    headers = {"Location": shown["url"]} if status == 201 else None
    return JSONResponse(shown, status_code=status, headers=headers)
