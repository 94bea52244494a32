"""The wijkhub API: advised streets, opening or declining a hub, extending and closing it,
and its evaluation. Operators decide; the partners taking part read their hubs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.fields import PartnerId, UtcDatetime
from contracts.signals import BuurtCode
from contracts.wijkhubs import HubId, WijkhubEvaluation
from services.routing.wijkhub import reading, store
from services.routing.wijkhub.decisions import Wijkhubs
from services.routing.wijkhub.domain import (
    Contact,
    DecisionRefused,
    Plan,
    PlanRefused,
    UnknownHub,
)
from services.routing.wijkhub.evaluation import evaluate
from wijkbus import auth
from wijkbus.auth import require_operator_api
from wijkbus.http import problem
from wijkbus.vault import PersonErased, VaultError

router = APIRouter(prefix="/api/v1/wijkhubs", tags=["wijkhubs"])
# No control characters (a line), or none but tab and line breaks (a text): PostgreSQL cannot
# store NUL, and the rest has no place in a street key, an address or a note.
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=TEXT_PATTERN),
]
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=LINE_PATTERN),
]
OPERATOR = [Depends(require_operator_api)]
# A wijkhub decision is a gebiedsmanager's (or a beheerder's); erasing its contact a beheerder's.
DECIDES = [*OPERATOR, Depends(auth.requires("gebiedsmanager"))]
ERASES = [*OPERATOR, Depends(auth.requires())]


class ContactIn(BaseModel):
    """The hub's contact person; sealed on arrival, only `role` is shown openly."""

    model_config = ConfigDict(extra="forbid")
    name: Line
    role: Line
    phone: Line | None = None
    email: Line | None = None


class OpenRequest(BaseModel):
    """A wijkhub to open: the streets or buurt, the address, the days (inclusive), the team."""

    model_config = ConfigDict(extra="forbid")
    street_keys: list[Line] = Field(default_factory=list, max_length=50)
    buurt_code: BuurtCode | None = None
    address: Line
    starts_on: date
    ends_on: date
    partners: list[PartnerId] = Field(min_length=1, max_length=20)
    contact: ContactIn
    aims: Text

    def plan(self) -> Plan:
        """The plan the decision takes."""
        c = self.contact
        return Plan(
            tuple(dict.fromkeys(self.street_keys)), self.buurt_code, self.address,
            self.starts_on, self.ends_on, tuple(dict.fromkeys(self.partners)),
            Contact(c.name, c.role, c.phone, c.email), self.aims,
        )  # fmt: skip


class DeclineRequest(BaseModel):
    """Why the wijkteam does not open a wijkhub on this advice."""

    model_config = ConfigDict(extra="forbid")
    reason: Text


class ExtendRequest(BaseModel):
    """The hub's new last day."""

    model_config = ConfigDict(extra="forbid")
    ends_on: date


class CloseRequest(BaseModel):
    """The team's own note on what the hub did."""

    model_config = ConfigDict(extra="forbid")
    outcome_note: Text


partner_of = auth.partner_or_operator
contact_reader = auth.partner_or("gebiedsmanager")


async def decided(request: Request, what: str, *args: Any) -> Any:
    """Run one decision of `Wijkhubs` in a transaction; its refusals are raised."""
    hubs: Wijkhubs = request.app.state.wijkhubs
    async with request.app.state.runtime.pool.acquire() as conn, conn.transaction():
        return await getattr(hubs, what)(conn, *args, await auth.who(request))


async def decide(request: Request, what: str, *args: Any) -> Any:
    """Run one decision of `Wijkhubs` in a transaction; its refusals as problem+json."""
    try:
        return await decided(request, what, *args)
    except PlanRefused as exc:
        errors = [{"field": p.split(":")[0], "message": p} for p in exc.problems]
        return problem(400, "wijkhub refused", errors=errors)
    except DecisionRefused as exc:
        return problem(409, "wijkhub decision refused", detail=str(exc))
    except UnknownHub:
        return problem(404, "no such wijkhub")


async def _view(request: Request, hub_id: str, partner: str | None) -> dict[str, Any]:
    async with request.app.state.runtime.pool.acquire() as conn:
        view = await reading.hub_view(conn, hub_id, request.app.state.clock())
    if view is None or (partner is not None and partner not in view["partners"]):
        raise HTTPException(404, "no such wijkhub")  # a hub a partner is not in: not theirs
    return view


@router.get("/advice", dependencies=OPERATOR, responses={401: {}})
async def list_advice(request: Request) -> list[dict[str, Any]]:
    """Streets whose threshold crossing awaits a decision, with the incidents behind it."""
    async with request.app.state.runtime.pool.acquire() as conn:
        return await reading.advice_with_incidents(conn)


@router.post("/advice/{street_key}/decline", status_code=201, dependencies=DECIDES,
             responses={400: {}, 401: {}, 409: {}})  # fmt: skip
async def decline(street_key: str, body: DeclineRequest, request: Request) -> Any:
    """Record the decision not to open a wijkhub on this street's advice, with the reason."""
    found = await decide(request, "decline", street_key, body.reason)
    return found if isinstance(found, JSONResponse) else found.model_dump(mode="json")


@router.post("", status_code=201, dependencies=DECIDES, responses={400: {}, 401: {}, 409: {}})
async def open_hub(body: OpenRequest, request: Request) -> Any:
    """Open a wijkhub; 409 when one of its streets has a wijkhub in that period already."""
    found = await decide(request, "open", body.plan())
    return found if isinstance(found, JSONResponse) else await _view(request, found.hub_id, None)


@router.get("", responses={401: {}})
async def list_hubs(request: Request, partner: str | None = Depends(partner_of)) -> list[Any]:
    """Every wijkhub (a partner: those it takes part in), newest first."""
    async with request.app.state.runtime.pool.acquire() as conn:
        ids = [r["hub_id"] for r in await reading.hubs(conn, partner)]
    return [await _view(request, hub_id, partner) for hub_id in ids]


@router.get("/{hub_id}", responses={401: {}, 404: {}})
async def get_hub(
    hub_id: HubId, request: Request, partner: str | None = Depends(partner_of)
) -> dict[str, Any]:
    """One wijkhub: ground, period, status, team, aims, the contact's role; no personal data."""
    return await _view(request, hub_id, partner)


@router.get("/{hub_id}/contact", responses={401: {}, 404: {}})
async def get_contact(
    hub_id: HubId, request: Request, partner: str | None = Depends(contact_reader)
) -> dict[str, Any]:
    """The contact person: name and role for the partners taking part, all for an operator
    who decides on wijkhubs (a kijker or budgetbeheer: 403)."""
    await _view(request, hub_id, partner)
    try:
        async with request.app.state.runtime.pool.acquire() as conn:
            contact = await request.app.state.wijkhubs.contact(conn, hub_id)
    except (UnknownHub, PersonErased, VaultError):  # VaultError: sealed under another key
        raise HTTPException(404, "no contact person is kept for this wijkhub") from None
    return contact if partner is None else {"name": contact["name"], "role": contact["role"]}


@router.delete(
    "/{hub_id}/contact", status_code=204, dependencies=ERASES, responses={401: {}, 404: {}}
)
async def erase_contact(hub_id: HubId, request: Request) -> Response:
    """Erase the contact person (their right to erasure): their key is shredded, so their
    sealed details can never be read again; the hub and its role stay."""
    await _view(request, hub_id, None)
    async with request.app.state.runtime.pool.acquire() as conn:
        if not await store.shred_contact(conn, hub_id):
            raise HTTPException(404, "no contact person is kept for this wijkhub")
    return Response(status_code=204)


@router.post(
    "/{hub_id}/extend", dependencies=DECIDES, responses={400: {}, 401: {}, 404: {}, 409: {}}
)
async def extend(hub_id: HubId, body: ExtendRequest, request: Request) -> Any:
    """Give a running wijkhub a later last day."""
    found = await decide(request, "extend", hub_id, body.ends_on)
    return found if isinstance(found, JSONResponse) else await _view(request, hub_id, None)


@router.post(
    "/{hub_id}/close", dependencies=DECIDES, responses={400: {}, 401: {}, 404: {}, 409: {}}
)
async def close(hub_id: HubId, body: CloseRequest, request: Request) -> Any:
    """Close the wijkhub with the team's note; the answer carries its evaluation."""
    found = await decide(request, "close", hub_id, body.outcome_note)
    return found if isinstance(found, JSONResponse) else found.model_dump(mode="json")


@router.get("/{hub_id}/evaluation", response_model=WijkhubEvaluation, responses={401: {}, 404: {}})
async def evaluation(
    hub_id: HubId,
    request: Request,
    partner: str | None = Depends(partner_of),
    as_of: UtcDatetime | None = None,
    baseline_weeks: float | None = Query(None, gt=0, le=52),
) -> WijkhubEvaluation:
    """What the hub changed as of `as_of` (default now): an indication, not proof of cause."""
    await _view(request, hub_id, partner)
    found = await evaluation_of(request, hub_id, as_of, baseline_weeks)
    assert found is not None
    return found[1]


async def evaluation_of(
    request: Request, hub_id: str, as_of: datetime | None, baseline_weeks: float | None
) -> tuple[dict[str, Any], WijkhubEvaluation] | None:
    """The hub's view and its evaluation as of `as_of` (now, or its close: whichever first)."""
    now = request.app.state.clock()
    moment = min(as_of or now, now)
    async with request.app.state.runtime.pool.acquire() as conn:
        inputs = await reading.report_inputs(conn, hub_id, moment)
    if inputs is None:
        return None
    view, period, hub, comparison, others = inputs
    return view, evaluate(period, hub, comparison, others, moment, baseline_weeks)
