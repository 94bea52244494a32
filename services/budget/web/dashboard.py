"""Budget's operator dashboard (Dutch)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from services.budget import round_forming, round_store, store
from wijkbus import auth
from wijkbus.auth import require_operator_page

router = APIRouter()
FORM = "budget-dashboard-form"
"""The name the dashboard's forms derive their anti-CSRF token from."""
ADMIT_WEEKS = 4


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(require_operator_page)],
)
async def dashboard(request: Request) -> HTMLResponse:
    """Households and participation per buurt, initiatives with support, years and rounds."""
    return await page(request)


async def page(request: Request, status: int = 200, **extra: Any) -> HTMLResponse:
    """The dashboard, with a refused form's problem beside its field when there is one."""
    async with request.app.state.runtime.pool.acquire() as conn:
        data = await store.dashboard(conn)
        results = {
            r["round_id"]: await round_store.round_results(conn, r["round_id"])
            for r in data["rounds"]
        }
        formable = await round_forming.formable(conn)
    today = request.app.state.budget.clock().date()
    return request.app.state.templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "title": "wijkbus buurtbudget",
            "logged_in": True,
            "results": results,
            "funded": [i for i in data["initiatives"] if i["status"] == "gefinancierd"],
            "csrf_token": auth.form_token(request, FORM),
            "formable": formable,
            "default_deadline": (today + timedelta(weeks=ADMIT_WEEKS)).isoformat(),
            "min_deadline": (today + timedelta(days=1)).isoformat(),
            "refused": None,
            **data,
            **extra,
        },
        status_code=status,
    )
