"""Routing's operator API: assignments, a street's counts and the rules in force."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from contracts.topics import PARTNER_ID_PATTERN
from services.routing import store
from services.routing.domain import RuleSet
from services.routing.lifecycle import SlaState, Status, sla_state
from wijkbus.auth import require_operator_api

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_operator_api)])


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
    """A street's all-time incident counts per categorie."""

    street_key: str
    street: str
    city: str
    buurt_code: str | None
    counts: dict[str, int]
    total: int


@router.get("/assignments", response_model=AssignmentList, responses={400: {}, 401: {}})
async def list_assignments(
    request: Request,
    partner: str | None = Query(None, pattern=PARTNER_ID_PATTERN),
    status: Status | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> AssignmentList:
    """Assignments, optionally of one partner and one status."""
    async with request.app.state.runtime.pool.acquire() as conn:
        rows = await store.assignments(conn, partner=partner, status=status, limit=limit)
    now = request.app.state.clock()
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
        found = await store.street(conn, street_key)
    if found is None:
        raise HTTPException(404, "no incidents known for this street")
    return StreetView(**found)


@router.get("/rules", response_model=RuleSet, responses={401: {}})
async def get_rules(request: Request) -> RuleSet:
    """The rule set in force: version, municipality and the rules in order."""
    ruleset: RuleSet = request.app.state.routing.ruleset
    return ruleset
