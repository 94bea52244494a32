"""The wijkhub on the operator dashboard: the hub page and the forms that decide on advice and
hubs. Each form needs the operator's login and its anti-CSRF token, and takes the same
decision as the JSON API; a refusal is shown on the page in Dutch (400/409), never a 500."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from services.routing.web import dashboard, wijkhub_views
from services.routing.web import wijkhub_forms as forms
from services.routing.web.wijkhubs import decided
from wijkbus import auth
from wijkbus.auth import require_operator_page

DECIDES = [Depends(auth.requires("gebiedsmanager"))]
router = APIRouter(
    prefix="/dashboard/wijkhubs",
    include_in_schema=False,
    dependencies=[Depends(require_operator_page)],
)


@router.get("/{hub_id}", response_class=HTMLResponse)
async def hub_page(hub_id: str, request: Request) -> HTMLResponse:
    """One wijkhub: its facts, the contact (vertrouwelijk), decisions, forms and evaluation."""
    return await _hub_page(request, hub_id)


@router.post("", dependencies=DECIDES)
async def open_hub(request: Request) -> Response:
    """'Wijkhub openen' on a street's advice: on to the new hub's page, or the reasons why not."""
    form = await _form(request)
    try:
        opened = await decided(request, "open", forms.open_request(form).plan())
    except forms.REFUSALS as exc:
        return await _refused_on_dashboard(request, exc, form)
    return _to_hub(opened.hub_id)


@router.post("/advice/{street_key:path}/decline", dependencies=DECIDES)
async def decline(street_key: str, request: Request) -> Response:
    """'Geen wijkhub' on a street's advice, with the reason; back to the dashboard."""
    form = await _form(request)
    try:
        await decided(request, "decline", street_key, forms.decline_request(form).reason)
    except forms.REFUSALS as exc:
        return await _refused_on_dashboard(request, exc, form)
    return RedirectResponse("/dashboard#wijkhub-advies", status_code=303)


@router.post("/{hub_id}/extend", dependencies=DECIDES)
async def extend(hub_id: str, request: Request) -> Response:
    """'Verlengen': a running hub gets a later last day."""
    form = await _form(request)
    try:
        await decided(request, "extend", hub_id, forms.extend_request(form).ends_on)
    except forms.REFUSALS as exc:
        return await _hub_page(request, hub_id, exc, form)
    return _to_hub(hub_id)


@router.post("/{hub_id}/close", dependencies=DECIDES)
async def close(hub_id: str, request: Request) -> Response:
    """'Sluiten': the hub closes with the team's note and its evaluation as of now."""
    form = await _form(request)
    try:
        await decided(request, "close", hub_id, forms.close_request(form).outcome_note)
    except forms.REFUSALS as exc:
        return await _hub_page(request, hub_id, exc, form)
    return _to_hub(hub_id)


async def _form(request: Request) -> FormData:
    """The posted form, once its anti-CSRF token is checked (403 otherwise)."""
    form = await request.form()
    token = form.get("csrf_token")
    auth.require_form_token(request, token if isinstance(token, str) else "", forms.FORM)
    return form


def _to_hub(hub_id: str) -> RedirectResponse:
    return RedirectResponse(f"/dashboard/wijkhubs/{hub_id}", status_code=303)


async def _refused_on_dashboard(request: Request, exc: Exception, form: FormData) -> Response:
    refused = _refusal(exc, form)
    return await dashboard.page(request, forms.status_of(exc), wijkhub_refused=refused)


async def _hub_page(
    request: Request, hub_id: str, exc: Exception | None = None, form: FormData | None = None
) -> HTMLResponse:
    context = await wijkhub_views.hub_context(request, hub_id)
    templates = request.app.state.templates
    if context is None:
        missing = {"title": "wijkhub onbekend", "logged_in": True, "hub_id": hub_id}
        return templates.TemplateResponse(request, "wijkhub_missing.html", missing, 404)
    status = 200 if exc is None else forms.status_of(exc)
    refused = None if exc is None else _refusal(exc, form)
    context.update(logged_in=True, wijkhub_refused=refused)
    return templates.TemplateResponse(request, "wijkhub.html", context, status_code=status)


def _refusal(exc: Exception, form: FormData | None) -> dict[str, Any]:
    kept = forms.kept(form)
    kept.pop("csrf_token", None)
    return {"messages": forms.messages(exc), "form": kept, "street_key": kept.get("street_key")}
