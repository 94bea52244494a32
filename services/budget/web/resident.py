"""Resident pages (Dutch, plain HTML forms, no JavaScript): code → initiatives → support.

The code travels in POST bodies (a hidden field after it was typed once). The one URL that
carries it is the letter's QR link, `/buurt?code=...`: it only fills in the code form, is never
logged (no access log, no URL in our logs or metrics) and is sent nowhere else (no Referer).
The pages are never cached.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from services.budget import codes
from services.budget.casting import Ballot
from services.budget.views import resident_view
from services.budget.web.ballot_box import cast_ballot
from services.budget.web.guard import Refusal, attempt

router = APIRouter(prefix="/buurt", include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}


def page(
    request: Request, template: str, status: int = 200, headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:  # fmt: skip
    """A resident page, never cached."""
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request,
        template,
        {"title": "Buurtbudget", **context},
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
    )
    return response


def refused(request: Request, refusal: Refusal, code: str | None = None) -> HTMLResponse:
    """A refusal in Dutch: an unknown code back to the code form, anything else explained."""
    headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else None
    if code is None or refusal.status in (403, 429):
        # An unknown code (or a client that must wait) goes back to the code form.
        return page(request, "buurt_code.html", refusal.status, headers, error=refusal.message)
    return page(request, "buurt_melding.html", refusal.status, headers,
                 message=refusal.message, code=code, ok=False)  # fmt: skip


@router.get("", response_class=HTMLResponse)
async def code_form(request: Request, code: str | None = Query(None)) -> HTMLResponse:
    """Ask for the code from the letter; filled in already when the letter's QR code opened it."""
    # Only filled in, not looked up: a GET must not tell whether a code is valid.
    filled = code.strip() if code and codes.looks_like_a_code(code) else None
    return page(request, "buurt_code.html", error=None, code=filled)


@router.post("", response_class=HTMLResponse)
async def initiatives(request: Request, code: str = Form(..., max_length=64)) -> HTMLResponse:
    """The buurt's initiatives with their progress, for the household whose code this is."""
    view = await attempt(request, code, lambda b, c: resident_view(b, c, code))
    if isinstance(view, Refusal):
        return refused(request, view)
    return page(request, "buurt.html", view=view, code=code)


@router.post("/steun", response_class=HTMLResponse)
async def support(
    request: Request,
    code: str = Form(..., max_length=64),
    initiative_id: str = Form(..., max_length=64),
) -> HTMLResponse:
    """Support one initiative; confirm it, or say clearly why not."""
    result = await attempt(request, code, lambda b, c: b.support(c, code, initiative_id))
    if isinstance(result, Refusal):
        return refused(request, result, code)
    message = f"Bedankt! Uw steun voor “{result.title}” is geregistreerd."
    if result.decision.funded:
        message += " Met uw steun is het initiatief nu gefinancierd."
    return page(request, "buurt_melding.html", message=message, code=code, ok=True)


@router.post("/intrekken", response_class=HTMLResponse)
async def withdraw(
    request: Request,
    code: str = Form(..., max_length=64),
    initiative_id: str = Form(..., max_length=64),
) -> HTMLResponse:
    """Take the household's support back (before the deadline)."""
    result = await attempt(request, code, lambda b, c: b.withdraw_support(c, code, initiative_id))
    if isinstance(result, Refusal):
        return refused(request, result, code)
    message = "Uw steun is ingetrokken. U kunt uw budget nu aan een ander initiatief geven."
    return page(request, "buurt_melding.html", message=message, code=code, ok=True)


@router.post("/stem", response_class=HTMLResponse)
async def vote(request: Request) -> HTMLResponse:
    """Cast the household's approval ballot in the buurt's open round."""
    form = await request.form()
    code, round_id = str(form.get("code", ""))[:64], str(form.get("round_id", ""))[:200]
    chosen = [str(p)[:200] for p in form.getlist("project")][:200]
    result = await cast_ballot(request, Ballot(code, round_id, chosen))
    if result is not None:
        return refused(request, result, code)
    message = "Bedankt! Uw stem is geregistreerd. De uitslag volgt na het sluiten van de ronde."
    return page(request, "buurt_melding.html", message=message, code=code, ok=True)
