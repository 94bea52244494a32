"""Intake's operator dashboard (Dutch)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from services.intake import queries
from wijkbus.auth import require_operator_page

router = APIRouter()


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(require_operator_page)],
)
async def dashboard(request: Request) -> HTMLResponse:
    """Counts per partner, top rejection reasons, latest signals and dead letters."""
    async with request.app.state.runtime.pool.acquire() as conn:
        data = await queries.dashboard(conn)
    return request.app.state.templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "title": "wijkbus intake",
            "logged_in": True,
            "refresh": 10,
            "partners": list(request.app.state.intake.partners),
            **data,
        },
    )
