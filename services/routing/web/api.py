"""Routing's operator API: assignments, and the counts of streets and buurten."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from contracts.topics import PARTNER_ID_PATTERN
from services.routing import queries
from services.routing.lifecycle import SlaState, Status, sla_state
from services.routing.streets import WINDOWS
from wijkbus.auth import require_operator_api

OPERATORS_ONLY: dict[int | str, dict[str, Any]] = {
    401: {},
    403: {"description": "a partner's API key: operators only"},
}
router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(require_operator_api)], responses=OPERATORS_ONLY
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
