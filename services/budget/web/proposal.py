"""The resident proposes an initiative for their buurt on a plain HTML form (no JavaScript).

The code travels as on the other resident pages: in the POST body, never in a URL, never logged.
The initiator's name, e-mail and phone are sealed by `Budget.propose`, as for the JSON API.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from services.budget.web import proposal_form
from services.budget.web.guard import Refusal, attempt
from services.budget.web.resident import page, refused

router = APIRouter(prefix="/buurt/voorstel", include_in_schema=False)


@router.post("", response_class=HTMLResponse)
async def proposal_form_page(
    request: Request, code: str = Form(..., max_length=64)
) -> HTMLResponse:
    """The empty proposal form, for the household whose code this is."""
    holder = await attempt(request, code, lambda b, c: b.holder(c, code))
    if isinstance(holder, Refusal):
        return refused(request, holder)
    return page(request, "buurt_voorstel.html", code=code, values={}, problems={},
                buurt_code=holder.buurt_code)  # fmt: skip


@router.post("/indienen", response_class=HTMLResponse)
async def propose(request: Request) -> HTMLResponse:
    """Send the proposal; show it as received (status: voorgesteld), or every problem by field."""
    form = await request.form()
    code = str(form.get("code") or "")[:64]
    proposal = proposal_form.read(form)
    if proposal.problems:
        holder = await attempt(request, code, lambda b, c: b.holder(c, code))
        if isinstance(holder, Refusal):
            return refused(request, holder)
        return page(request, "buurt_voorstel.html", 400, code=code, values=proposal.values,
                    problems=proposal.problems, buurt_code=holder.buurt_code)  # fmt: skip
    v = proposal.values
    result = await attempt(
        request,
        code,
        lambda b, c: b.propose(
            c, code, v["titel"], v["beschrijving"], proposal.cost_cents, proposal.contact
        ),
    )
    if isinstance(result, Refusal):
        return refused(request, result, code)
    return page(request, "buurt_voorstel_ontvangen.html", code=code, title_=v["titel"],
                cost_cents=proposal.cost_cents, reachable_by_mail=bool(v["email"]))  # fmt: skip
