"""Routing's operator API: assignments, a street's counts and the rules in force."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from contracts.topics import PARTNER_ID_PATTERN
from services.routing import queries, store
from services.routing.domain import RuleSet, RuleSetError, parse_rules
from services.routing.lifecycle import SlaState, Status, sla_state
from services.routing.streets import WINDOWS
from wijkbus.auth import require_operator_api
from wijkbus.http import problem

MAX_RULES_BYTES = 256 * 1024

router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(require_operator_api)], responses={401: {}}
)


class AssignmentView(BaseModel):
    """One signal's assignment, with the rule that chose the responder and its SLA state."""

    signal_id: str
    partner_id: str
    categorie: str
    street_key: str
    buurt_code: str | None
    ruleset_version: str
    rule_id: str
    status: Status
    assigned_at: datetime
    acknowledge_by: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None
    sla: SlaState


class AssignmentList(BaseModel):
    """Assignments, newest first."""

    assignments: list[AssignmentView]


class StreetView(BaseModel):
    """A street's incident counts per categorie: all time, and per rolling window of days."""

    street_key: str
    street: str
    city: str
    buurt_code: str | None
    counts: dict[str, int]
    total: int
    windows: dict[str, dict[str, int]]


class BuurtView(BaseModel):
    """A buurt's incident counts per categorie: all time, and per rolling window of days."""

    buurt_code: str
    counts: dict[str, int]
    total: int
    windows: dict[str, dict[str, int]]


@router.get("/assignments", response_model=AssignmentList, responses={400: {}, 401: {}})
async def list_assignments(
    request: Request,
    partner: str | None = Query(None, pattern=PARTNER_ID_PATTERN),
    status: Status | None = None,
    late: bool | None = Query(
        None, description="true: open and past its acknowledge_by deadline (SLA te laat)"
    ),
    limit: int = Query(100, ge=1, le=1000),
) -> AssignmentList:
    """Assignments, optionally of one partner, one status, and late (SLA te laat) or not."""
    now = request.app.state.clock()
    async with request.app.state.runtime.pool.acquire() as conn:
        rows = await queries.assignments(
            conn, partner=partner, status=status, late=late, now=now, limit=limit
        )
    return AssignmentList(
        assignments=[
            AssignmentView(
                **dict(row), sla=sla_state(row["acknowledge_by"], row["acknowledged_at"], now)
            )
            for row in rows
        ]
    )


@router.get("/streets/{street_key}", response_model=StreetView, responses={401: {}, 404: {}})
async def get_street(street_key: str, request: Request) -> StreetView:
    """A street's incident counts per categorie."""
    async with request.app.state.runtime.pool.acquire() as conn:
        found = await queries.street(conn, street_key, request.app.state.clock(), WINDOWS)
    if found is None:
        raise HTTPException(404, "no incidents known for this street")
    return StreetView(**found)


@router.get("/buurten/{buurt_code}", response_model=BuurtView, responses={401: {}, 404: {}})
async def get_buurt(buurt_code: str, request: Request) -> BuurtView:
    """A buurt's incident counts per categorie."""
    async with request.app.state.runtime.pool.acquire() as conn:
        found = await queries.buurt(conn, buurt_code, request.app.state.clock(), WINDOWS)
    if found is None:
        raise HTTPException(404, "no incidents known for this buurt")
    return BuurtView(**found)


@router.get("/rules", response_model=RuleSet, responses={401: {}})
async def get_rules(request: Request) -> RuleSet:
    """The rule set in force: version, municipality and the rules in order."""
    ruleset: RuleSet = request.app.state.routing.ruleset
    return ruleset


class RulesUpdate(BaseModel):
    """The outcome of uploading a rule set."""

    version: str
    previous_version: str
    changed: bool
    diff: str = ""


class RulesHistoryEntry(BaseModel):
    """One rule set that was in force, newest first."""

    version: str
    municipality: str
    loaded_at: datetime
    loaded_by: str
    diff: str


class RulesHistory(BaseModel):
    """Every rule set routing has run with, newest first."""

    history: list[RulesHistoryEntry] = Field(default_factory=list)


@router.put(
    "/rules",
    response_model=RulesUpdate,
    responses={400: {}, 401: {}, 409: {}, 413: {}},
    openapi_extra={
        "requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}}
    },
)
async def put_rules(request: Request) -> RulesUpdate | JSONResponse:
    """Upload a new rule set (YAML); refused sets leave the rules in force unchanged."""
    body = await request.body()
    if len(body) > MAX_RULES_BYTES:
        return problem(413, "rule set too large", detail=f"at most {MAX_RULES_BYTES} bytes")
    routing = request.app.state.routing
    try:
        new = parse_rules(body.decode("utf-8"), routing.partners)
    except UnicodeDecodeError:
        return problem(400, "rule set refused", errors=[{"field": "body", "message": "not UTF-8"}])
    except RuleSetError as exc:
        errors = [{"field": "body", "message": p} for p in exc.problems]
        return problem(400, "rule set refused", errors=errors)
    who = request.headers.get("x-wijkbus-operator", "operator")[:64] or "operator"
    try:
        async with request.app.state.runtime.pool.acquire() as conn, conn.transaction():
            change = await routing.replace_rules(conn, new, who)
    except store.RuleSetConflict as exc:
        return problem(409, "rule set version already used", detail=str(exc))
    if change is None:
        return RulesUpdate(version=new.version, previous_version=new.version, changed=False)
    routing.in_force(new)
    return RulesUpdate(
        version=new.version,
        previous_version=change.previous_version,
        changed=True,
        diff=change.diff,
    )


@router.get("/rules/history", response_model=RulesHistory, responses={401: {}})
async def get_rules_history(request: Request) -> RulesHistory:
    """The rule sets routing has run with, newest first."""
    async with request.app.state.runtime.pool.acquire() as conn:
        rows = await queries.ruleset_history(conn, limit=100)
    return RulesHistory(history=[RulesHistoryEntry(**dict(r)) for r in rows])
