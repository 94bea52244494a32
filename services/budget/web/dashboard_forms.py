"""The operator's forms on budget's dashboard: admit, decline, withdraw; open and close rounds.

Each form needs the operator's login and its anti-CSRF token, and takes the same step as the
JSON API (`Budget.admit`, ...); a refusal is shown on the dashboard in Dutch beside its field
(400 for the input, 404 unknown, 409 for the state), never a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from services.budget import ballots, round_forming
from services.budget.domain import UnknownRuleError
from services.budget.domain.initiatives import InitiativeStateError
from services.budget.initiatives import UnknownInitiativeError
from services.budget.web import dashboard
from wijkbus import auth
from wijkbus.auth import require_operator_page

router = APIRouter(
    prefix="/dashboard",
    include_in_schema=False,
    dependencies=[Depends(require_operator_page), Depends(auth.requires("budgetbeheer"))],
)
ZONE = ZoneInfo("Europe/Amsterdam")  # the municipality's day: a deadline ends at its midnight
Step = Callable[[Any, Any], Awaitable[Any]]


@router.post("/initiatieven/{initiative_id}/toelaten")
async def admit(initiative_id: str, request: Request) -> Response:
    """'Toelaten': open for support (or, in a vote year, for the round) until the deadline."""
    form = await _form(request)
    deadline = _end_of(str(form.get("deadline") or ""))
    if deadline is None:
        return await _refused(request, 400, initiative_id, "deadline", "Kies een geldige datum.")
    return await _step(request, initiative_id, "deadline",
                       lambda b, c: b.admit(c, initiative_id, deadline))  # fmt: skip


@router.post("/initiatieven/{initiative_id}/afwijzen")
async def decline(initiative_id: str, request: Request) -> Response:
    """'Afwijzen', with the reason the initiator reads in the mail."""
    form = await _form(request)
    reason = str(form.get("reason") or "").strip()
    if not reason or len(reason) > 1000 or "\x00" in reason:
        message = "Geef een reden (hoogstens 1000 tekens): de initiatiefnemer leest die."
        return await _refused(request, 400, initiative_id, "reason", message, reason)
    return await _step(request, initiative_id, "reason",
                       lambda b, c: b.decline(c, initiative_id, reason), reason)  # fmt: skip


@router.post("/initiatieven/{initiative_id}/intrekken")
async def withdraw(initiative_id: str, request: Request) -> Response:
    """'Intrekken' on the initiator's request; pledges to it are released."""
    await _form(request)
    return await _step(request, initiative_id, "withdraw",
                       lambda b, c: b.withdraw(c, initiative_id))  # fmt: skip


@router.post("/rondes")
async def open_round(request: Request) -> Response:
    """'Stemronde openen': the buurt's admitted initiatives form its round."""
    form = await _form(request)
    where = (str(form.get("municipality") or ""), str(form.get("year") or ""),
             str(form.get("buurt_code") or ""))  # fmt: skip
    key = ":".join(where)
    title = str(form.get("title") or "").strip()
    rule = str(form.get("rule") or round_forming.DEFAULT_RULE)
    if not title or len(title) > 200 or not where[1].isdigit():
        return await _refused(request, 400, key, "title", "Geef de stemronde een titel.")
    return await _step(request, key, "title", lambda _, c: round_forming.form_round(
        c, where[0], int(where[1]), where[2], title, rule))  # fmt: skip


@router.post("/rondes/{round_id}/sluiten")
async def close_round(round_id: str, request: Request) -> Response:
    """'Stemronde sluiten': decide it; its initiatives are funded or not by the outcome."""
    await _form(request)
    return await _step(request, round_id, "close",
                       lambda b, c: round_forming.close_and_decide(b, c, round_id))  # fmt: skip


async def _form(request: Request) -> FormData:
    """The posted form, once its anti-CSRF token is checked (403 otherwise)."""
    form = await request.form()
    token = form.get("csrf_token")
    auth.require_form_token(request, token if isinstance(token, str) else "", dashboard.FORM)
    return form


async def _step(request: Request, target: str, field: str, step: Step, kept: str = "") -> Response:
    try:
        async with request.app.state.runtime.pool.acquire() as conn:
            await step(request.app.state.budget, conn)
    except UnknownInitiativeError:
        return await _refused(request, 404, target, field, "Dit initiatief bestaat niet.")
    except (InitiativeStateError, ballots.RoundError, UnknownRuleError) as exc:
        return await _refused(request, 409, target, field, _dutch(str(exc)), kept)
    return RedirectResponse("/dashboard", status_code=303)


async def _refused(
    request: Request, status: int, target: str, field: str, message: str, kept: str = ""
) -> Response:
    refused = {"target": target, "field": field, "message": message, "kept": kept}
    return await dashboard.page(request, status, refused=refused)


def _end_of(day: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(day), time(23, 59, 59), tzinfo=ZONE)
    except ValueError:
        return None


_ROUND_REFUSALS = [
    (" is not open", "Deze stemronde is niet (meer) open."),
    (" exists already", "Deze buurt heeft die stemronde al."),
    ("unknown rule", "Deze beslisregel kennen we niet."),
    ("no round ", "Deze stemronde bestaat niet."),
]


def _dutch(text: str) -> str:
    """The domain's refusal as a Dutch sentence (the round's English ones translated)."""
    for english, dutch in _ROUND_REFUSALS:
        if english in text:
            return dutch
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."
