"""Budget's HTTP API: residents support and vote with their code; operators decide."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.budget import ballots, initiatives
from services.budget.casting import Ballot
from services.budget.domain import UnknownRuleError
from services.budget.domain.initiatives import InitiativeStateError
from services.budget.handlers import Budget, Contact
from services.budget.initiatives import UnknownInitiativeError
from services.budget.web.ballot_box import cast_ballot
from services.budget.web.guard import Refusal, attempt
from wijkbus import auth
from wijkbus.auth import require_operator_api
from wijkbus.hot_route import HotRoute
from wijkbus.http import problem
from wijkbus.logging import get_logger
from wijkbus.vault import PersonErased, VaultError

T = TypeVar("T")
log = get_logger(__name__)
TITLES = {
    403: "code niet geldig voor dit verzoek",
    409: "niet meer mogelijk",
    404: "niet gevonden",
    400: "ongeldig verzoek",
    429: "te veel pogingen",
    503: "even niet beschikbaar",
}
Code = Annotated[str, Field(min_length=1, max_length=64, description="the code from the letter")]
# The columns are PostgreSQL integer (int4) or bigint; an amount beyond int4 is no buurt's budget,
# and a value a column cannot hold must be a 400 at its field, not a 500 at the INSERT.
INT4_MAX = 2_147_483_647
Amount = Annotated[int, Field(ge=0, le=INT4_MAX)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SupportRequest(_Body):
    """Support (or take back support from) an initiative with a household's code."""

    code: Code
    initiative_id: Annotated[str, Field(max_length=64)]


class BallotRequest(_Body):
    """An approval ballot in a vote round."""

    code: Code
    round_id: Annotated[str, Field(max_length=200)]
    project_ids: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=200)]


class ContactIn(_Body):
    """How the initiator can be reached; sealed, shown to nobody but an authorised operator."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Annotated[str | None, Field(max_length=254)] = None
    phone: Annotated[str | None, Field(max_length=40)] = None

    @model_validator(mode="after")
    def _reachable(self) -> ContactIn:
        if not (self.email or self.phone):
            raise ValueError("give an email address or a phone number")
        return self


class ProposalRequest(_Body):
    """A resident's proposal for their buurt (the buurt follows from the code)."""

    code: Code
    title: Annotated[str, Field(min_length=3, max_length=120)]
    description: Annotated[str, Field(max_length=4000)] = ""
    cost_cents: Annotated[int, Field(gt=0, le=100_000_000)]
    contact: ContactIn


class AdmitRequest(_Body):
    """Admit an initiative until a deadline."""

    deadline: AwareDatetime


class DeclineRequest(_Body):
    """Decline an initiative, with the reason the initiator will read."""

    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class ProjectIn(_Body):
    """A project on a round's ballot."""

    project_id: Annotated[str, Field(min_length=1, max_length=200)]
    title: Annotated[str, Field(max_length=200)] = ""
    cost: Amount


class RoundRequest(_Body):
    """Open a vote round over a buurt budget."""

    round_id: Annotated[str, Field(min_length=1, max_length=200)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    municipality: str
    year: Annotated[int, Field(ge=1, le=9999)]
    buurt_code: str
    budget: Amount
    rule: str = "equalshares/add1"
    min_length: Annotated[int, Field(ge=0, le=INT4_MAX)] = 1
    max_length: Annotated[int | None, Field(ge=1, le=INT4_MAX)] = None
    projects: Annotated[list[ProjectIn], Field(min_length=1, max_length=10_000)]

    @field_validator("projects")
    @classmethod
    def _each_project_once(cls, projects: list[ProjectIn]) -> list[ProjectIn]:
        seen: set[str] = set()
        for n, p in enumerate(projects):
            if p.project_id in seen:
                raise ValueError(f"projects.{n}.project_id is on the ballot twice")
            seen.add(p.project_id)
        return projects


async def with_code(
    request: Request, code: str, call: Callable[[Budget, Any], Awaitable[T]]
) -> T | JSONResponse:
    """A resident's call with `code`; a refusal becomes problem+json (429 with Retry-After)."""
    result = await attempt(request, code, call)
    return refusal_problem(result) if isinstance(result, Refusal) else result


def refusal_problem(refusal: Refusal) -> JSONResponse:
    """A resident's refusal as problem+json (429 and 503 with Retry-After)."""
    headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else None
    return problem(refusal.status, TITLES[refusal.status], detail=refusal.message, headers=headers)


public = APIRouter(prefix="/api/v1", tags=["bewoners"])
_RESIDENT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {}, 403: {}, 404: {}, 409: {}, 429: {},
}  # fmt: skip


@public.post("/supports", status_code=201, responses=_RESIDENT_ERRORS)
async def support(body: SupportRequest, request: Request) -> Any:
    """Support an initiative of your buurt (pledge rule: your allowance, once a year)."""
    result = await with_code(
        request, body.code, lambda b, c: b.support(c, body.code, body.initiative_id)
    )
    if isinstance(result, JSONResponse):
        return result
    d = result.decision
    return {"initiative_id": result.initiative_id, "funded": d.funded, "have": d.have,
            "need": d.need, "reason": d.reason}  # fmt: skip


@public.post("/supports/withdraw", responses=_RESIDENT_ERRORS)
async def withdraw_support(body: SupportRequest, request: Request) -> Any:
    """Take your support back, before the initiative's deadline."""
    result = await with_code(
        request, body.code, lambda b, c: b.withdraw_support(c, body.code, body.initiative_id)
    )
    return result if isinstance(result, JSONResponse) else {"status": "ingetrokken"}


# Ballots come in bursts (a whole buurt after the letters): their route is a hot one.
voting = APIRouter(prefix="/api/v1", tags=["bewoners"], route_class=HotRoute)


@voting.post("/ballots", status_code=201, responses=_RESIDENT_ERRORS)
async def ballot(body: BallotRequest, request: Request) -> Any:
    """Cast your household's approval ballot in an open round of your buurt, once."""
    refused = await cast_ballot(request, Ballot(body.code, body.round_id, body.project_ids))
    return {"status": "gestemd"} if refused is None else refusal_problem(refused)


@public.post("/initiatives", status_code=201, responses=_RESIDENT_ERRORS)
async def propose(body: ProposalRequest, request: Request) -> Any:
    """Propose an initiative for your buurt; an operator admits or declines it."""
    contact = Contact(body.contact.name, body.contact.email, body.contact.phone)
    result = await with_code(
        request,
        body.code,
        lambda b, c: b.propose(
            c, body.code, body.title, body.description, body.cost_cents, contact
        ),
    )
    return result if isinstance(result, JSONResponse) else {"initiative_id": result}


BUDGET_ROLE = [Depends(auth.requires("budgetbeheer"))]  # and a beheerder; others read only
operator = APIRouter(prefix="/api/v1", tags=["operators"], responses={401: {}},
                     dependencies=[Depends(require_operator_api)])  # fmt: skip


async def _operator_step(request: Request, step: Callable[[Budget, Any], Awaitable[None]]) -> Any:
    try:
        async with request.app.state.runtime.pool.acquire() as conn:
            await step(request.app.state.budget, conn)
    except UnknownInitiativeError:
        return problem(404, "no such initiative")
    except (InitiativeStateError, ballots.RoundError, UnknownRuleError) as exc:
        return problem(409, "not possible now", detail=str(exc))
    return {"status": "ok"}


@operator.get("/initiatives/{initiative_id}", responses={404: {}})
async def initiative(initiative_id: str, request: Request) -> Any:
    """An initiative: title, buurt, cost, status and the decision's reason; never its contact.
    (The resource a Notificaties API `notificatie` on kanaal buurtbudget points at.)"""
    async with request.app.state.runtime.pool.acquire() as conn:
        row = await initiatives.public(conn, initiative_id)
    if row is None:
        return problem(404, "no such initiative")
    return jsonable_encoder(dict(row))


@operator.get("/initiatives/{initiative_id}/contact", dependencies=BUDGET_ROLE)
async def contact(initiative_id: str, request: Request) -> Any:
    """The initiator's contact, opened from the vault; every read is logged (without it)."""
    try:
        async with request.app.state.runtime.pool.acquire() as conn:
            opened = await request.app.state.budget.contact(conn, initiative_id)
    except (UnknownInitiativeError, asyncpg.DataError):
        return problem(404, "no such initiative")
    except PersonErased:
        return problem(410, "the initiator's contact was erased")
    except VaultError:
        return problem(500, "the contact cannot be opened with this vault key")
    log.info("initiator contact read", initiative_id=initiative_id)
    return opened


@operator.post("/initiatives/{initiative_id}/admit", dependencies=BUDGET_ROLE)
async def admit(initiative_id: str, body: AdmitRequest, request: Request) -> Any:
    """Admit a proposed initiative: open for support until the deadline."""
    deadline: datetime = body.deadline
    return await _operator_step(request, lambda b, c: b.admit(c, initiative_id, deadline))


@operator.post("/initiatives/{initiative_id}/decline", dependencies=BUDGET_ROLE)
async def decline(initiative_id: str, body: DeclineRequest, request: Request) -> Any:
    """Decline a proposed initiative with a reason."""
    return await _operator_step(request, lambda b, c: b.decline(c, initiative_id, body.reason))


@operator.post("/initiatives/{initiative_id}/withdraw", dependencies=BUDGET_ROLE)
async def withdraw(initiative_id: str, request: Request) -> Any:
    """Withdraw an initiative on its initiator's request; pledges to it are released."""
    return await _operator_step(request, lambda b, c: b.withdraw(c, initiative_id))


@operator.post("/rounds", status_code=201, dependencies=BUDGET_ROLE)
async def open_round(body: RoundRequest, request: Request) -> Any:
    """Open a vote round for a buurt."""
    new = ballots.NewRound(
        body.round_id, body.title, body.municipality, body.year, body.buurt_code, body.budget,
        body.rule, body.min_length, body.max_length,
        tuple(ballots.RoundProject(p.project_id, p.title, p.cost) for p in body.projects),
    )  # fmt: skip
    return await _operator_step(request, lambda _, c: ballots.open_round(c, new))


@operator.post("/rounds/{round_id}/close", dependencies=BUDGET_ROLE)
async def close_round(round_id: str, request: Request) -> Any:
    """Close a round and decide it; the results land on the dashboard."""
    return await _operator_step(request, lambda b, c: _close(b, c, round_id))


async def _close(budget: Any, conn: Any, round_id: str) -> None:
    await ballots.close_round(conn, round_id, budget.clock())
