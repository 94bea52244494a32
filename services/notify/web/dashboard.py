"""Notify's operator dashboard (Dutch)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from services.notify import store
from services.notify.web.deliveries import form_token
from wijkbus.auth import require_operator_page

router = APIRouter()


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(require_operator_page)],
)
async def dashboard(request: Request) -> HTMLResponse:
    """Per subscription: delivered, pending, failing and dead; recent attempts; dead letters."""
    async with request.app.state.runtime.pool.acquire() as conn:
        data = await store.dashboard(conn)
    now: datetime = request.app.state.clock()
    subs = data["subscriptions"]
    return request.app.state.templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "title": "wijkbus notify",
            "logged_in": True,
            "refresh": 10,
            "now": now,
            "backlog": sum(s["pending"] + s["failing"] for s in subs),
            "csrf_token": form_token(request),
            **data,
        },
    )
