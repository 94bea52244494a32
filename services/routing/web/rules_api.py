"""Routing's rules API for operators: the rule set in force, uploading a new one, its history."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.routing import queries, store
from services.routing.domain import RuleSet
from services.routing.rule_parsing import RuleSetError, parse_rules
from services.routing.web.api import OPERATORS_ONLY
from wijkbus import auth
from wijkbus.auth import require_operator_api
from wijkbus.http import problem

MAX_RULES_BYTES = 256 * 1024

router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(require_operator_api)], responses=OPERATORS_ONLY
)


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
    dependencies=[Depends(auth.requires())],  # the rules of every partner: a beheerder's
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
        # The field within the rule set (`rules[3].responder`); `body` for the whole document.
        errors = [{"field": e.field or "body", "message": e.text} for e in exc.errors]
        return problem(400, "rule set refused", errors=errors)
    who = await auth.who(request)
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
