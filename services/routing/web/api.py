"""Routing's operator API: assignments, and the counts and state of streets and buurten."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from contracts.topics import PARTNER_ID_PATTERN
from services.routing import queries
from services.routing.lifecycle import SlaState, Status, sla_state
from services.routing.street_state import AdviceState, street_state
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


class ThresholdState(BaseModel):
    """One threshold of the rule set on this street: crossed now or not, and its last crossing."""

    threshold_id: str
    active: bool
    crossings: int
    evaluated_at: datetime
    advice: str | None
    window_days: int | None
    last_crossed_at: datetime | None


class AdviceView(BaseModel):
    """Where the street's wijkhub advice stands: `none` (never advised), `awaiting_decision`,
    `declined` (since the latest advice), `wijkhub_running` (a hub covers the street) or `done`
    (a hub was opened on the advice and has closed)."""

    state: AdviceState
    advised_at: datetime | None
    declined_at: datetime | None
    hub_id: str | None


class StreetView(BaseModel):
    """A street's incident counts per categorie (all time, and per rolling window of days),
    its thresholds and its current advice state."""

    street_key: str
    street: str
    city: str
    buurt_code: str | None
    counts: dict[str, int]
    total: int
    windows: dict[str, dict[str, int]]
    thresholds: list[ThresholdState]
    advice: AdviceView


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
    signal_id: list[str] | None = Query(None, max_length=1000, description="repeatable"),
    street_key: str | None = Query(None, max_length=300),
    buurt_code: str | None = Query(None, pattern=r"^BU[0-9A-Za-z]{8}$"),
    limit: int = Query(100, ge=1, le=1000),
) -> AssignmentList:
    """Assignments, optionally of one partner, one status, late (SLA te laat) or not, these
    signals, one street or one buurt."""
    now = request.app.state.clock()
    async with request.app.state.runtime.pool.acquire() as conn:
        rows = await queries.assignments(
            conn,
            partner=partner,
            status=status,
            late=late,
            now=now,
            limit=limit,
            signal_ids=signal_id,
            street_key=street_key,
            buurt_code=buurt_code,
        )
    return AssignmentList(assignments=[_assignment_view(row, now) for row in rows])


@router.get("/assignments/{signal_id}", response_model=AssignmentView, responses={401: {}, 404: {}})
async def get_assignment(signal_id: str, request: Request) -> AssignmentView:
    """One signal's assignment: its responder, the rule and rule set version, the deadline."""
    async with request.app.state.runtime.pool.acquire() as conn:
        row = await queries.assignment(conn, signal_id)
    if row is None:
        raise HTTPException(404, "routing has not assigned this signal")
    return _assignment_view(row, request.app.state.clock())


def _assignment_view(row: Any, now: datetime) -> AssignmentView:
    return AssignmentView(
        **dict(row), sla=sla_state(row["acknowledge_by"], row["acknowledged_at"], now)
    )


@router.get("/streets/{street_key}", response_model=StreetView, responses={401: {}, 404: {}})
async def get_street(street_key: str, request: Request) -> StreetView:
    """A street's incident counts per categorie, its thresholds and its advice state."""
    async with request.app.state.runtime.pool.acquire() as conn:
        found = await queries.street(conn, street_key, request.app.state.clock(), WINDOWS)
        if found is None:
            raise HTTPException(404, "no incidents known for this street")
        state = await street_state(conn, street_key)
    return StreetView(**found, **state)


@router.get("/buurten/{buurt_code}", response_model=BuurtView, responses={401: {}, 404: {}})
async def get_buurt(buurt_code: str, request: Request) -> BuurtView:
    """A buurt's incident counts per categorie."""
    async with request.app.state.runtime.pool.acquire() as conn:
        found = await queries.buurt(conn, buurt_code, request.app.state.clock(), WINDOWS)
    if found is None:
        raise HTTPException(404, "no incidents known for this buurt")
    return BuurtView(**found)
