"""Budget's operator dashboard (Dutch)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from services.budget import store
from wijkbus.auth import require_operator_page

router = APIRouter()


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(require_operator_page)],
)
async def dashboard(request: Request) -> HTMLResponse:
    """Households and initiatives per buurt."""
    async with request.app.state.runtime.pool.acquire() as conn:
        data = await store.dashboard(conn)
    return request.app.state.templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "title": "wijkbus buurtbudget",
            "logged_in": True,
            **data,
        },
    )
