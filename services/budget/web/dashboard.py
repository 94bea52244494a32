"""Budget's operator dashboard (Dutch)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from services.budget import round_store, store
from wijkbus.auth import require_operator_page

router = APIRouter()


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(require_operator_page)],
)
async def dashboard(request: Request) -> HTMLResponse:
    """Households and participation per buurt, initiatives with support, years and rounds."""
    async with request.app.state.runtime.pool.acquire() as conn:
        data = await store.dashboard(conn)
        results = {
            r["round_id"]: await round_store.round_results(conn, r["round_id"])
            for r in data["rounds"]
        }
    return request.app.state.templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "title": "wijkbus buurtbudget",
            "logged_in": True,
            "results": results,
            "funded": [i for i in data["initiatives"] if i["status"] == "gefinancierd"],
            **data,
        },
    )
