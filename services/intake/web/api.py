"""The partner HTTP API of CONTRACT.md: POST /api/v1/events and GET /api/v1/signals/{id}."""

from __future__ import annotations

import json
import math
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from contracts import binary_mode
from contracts.envelope import BATCH_CONTENT_TYPE, CONTENT_TYPE, MAX_EVENT_BYTES, CloudEvent
from services.intake import queries, reporting
from services.intake.domain import Verdict
from services.intake.handlers import Intake
from services.intake.submissions import TOO_DEEP, Submission
from services.intake.web.signal_view import SignalView
from wijkbus import auth
from wijkbus.http import problem
from wijkbus.partners import Partner
from wijkbus.ratelimit import SharedBuckets

MAX_BATCH = 500
STATUS_CODE = {
    "accepted": 202,
    "duplicate": 202,
    "invalid": 400,
    "forbidden": 403,
    "conflict": 409,
    "unauthenticated": 401,
}
TITLES = {
    400: "invalid event",
    403: "not allowed for this partner",
    409: "conflicting duplicate",
    401: "unauthenticated",
}
_EVENT_SCHEMA = CloudEvent.model_json_schema()
_EVENT_BODY = {
    "content": {
        CONTENT_TYPE: {"schema": _EVENT_SCHEMA},
        BATCH_CONTENT_TYPE: {
            "schema": {"type": "array", "maxItems": MAX_BATCH, "items": _EVENT_SCHEMA}
        },
    },
    "required": True,
}


def partner_from_key(request: Request) -> Partner:
    """The partner whose API key the request bears; 401 otherwise."""
    key = auth.bearer(request)
    partner = request.app.state.intake.partners.by_api_key(key) if key else None
    if partner is None:
        raise HTTPException(
            401, "missing or unknown API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return partner


def router(buckets: SharedBuckets) -> APIRouter:
    """The partner API routes; `buckets` limit each partner's events, over all replicas."""
    api = APIRouter(prefix="/api/v1")

    @api.post(
        "/events",
        status_code=202,
        openapi_extra={"requestBody": _EVENT_BODY},
        responses={400: {}, 401: {}, 403: {}, 409: {}, 413: {}, 415: {}, 429: {}},
    )
    async def post_events(request: Request, partner: Partner = Depends(partner_from_key)) -> Any:
        """Submit one CloudEvent (structured, or binary mode: ce-* headers and the data as the
        body) or a batch of at most 500."""
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        binary = binary_mode.is_binary(request.headers, binary_mode.HTTP_PREFIX)
        if media not in (CONTENT_TYPE, BATCH_CONTENT_TYPE) and not (
            binary and binary_mode.is_json_media(media or None)
        ):
            reporting.refused_request(partner.id, "unsupported-media")
            return problem(
                415,
                "unsupported content type",
                detail=f"use {CONTENT_TYPE} or {BATCH_CONTENT_TYPE}, "
                "or binary mode (ce-* headers) with application/json data",
            )
        limit = MAX_EVENT_BYTES * MAX_BATCH if media == BATCH_CONTENT_TYPE else MAX_EVENT_BYTES
        body, refused = await _read_limited(request, limit), None
        if binary and body is not None:
            # The structured event the headers and data stand for, judged like any other.
            body, errors = binary_mode.to_structured(request.headers, body, binary_mode.HTTP_PREFIX)
            refused = Verdict("invalid", errors=tuple(errors)) if errors else None
        if body is None or (binary and len(body) > MAX_EVENT_BYTES):
            reporting.refused_request(partner.id, "too-large")
            return problem(
                413,
                "request too large",
                detail=f"an event may be at most "
                f"{MAX_EVENT_BYTES} bytes, a batch at most {MAX_BATCH} events",
            )
        intake: Intake = request.app.state.intake
        if media != BATCH_CONTENT_TYPE:
            if wait := await buckets.take(request.app.state.runtime.pool, partner.id):
                reporting.refused_request(partner.id, "rate-limited")
                return _too_many(wait)
            async with request.app.state.runtime.pool.acquire() as conn, conn.transaction():
                single = Submission(partner, body, "http", refused=refused)
                verdict = (await intake.submit_many(conn, [single]))[0]
            return _single_answer(verdict)
        events = _batch_items(body)
        if isinstance(events, JSONResponse):
            return events
        pool = request.app.state.runtime.pool
        if wait := await buckets.take(pool, partner.id, len(events)):
            reporting.refused_request(partner.id, "rate-limited", len(events))
            return _too_many(wait)
        batch = [
            Submission(partner, raw, "http")
            if isinstance(raw, bytes)
            else Submission(partner, b"", "http", refused=raw)
            for raw in events
        ]
        verdicts = await _submit_batch(pool, intake, batch)
        return JSONResponse([_batch_answer(v) for v in verdicts], status_code=202)

    @api.get("/signals/{signal_id}", response_model=SignalView, responses={401: {}, 404: {}})
    async def get_signal(signal_id: str, request: Request) -> dict[str, Any]:
        """A signal's status and assignment (the responder, the rule and rule set version that
        chose it, the deadline), for its sender and its assigned responder."""
        key = auth.bearer(request) or ""
        operator = auth.is_operator_token(key, request.app.state.settings.operator_token)
        partner = None if operator else partner_from_key(request)
        async with request.app.state.runtime.pool.acquire() as conn:
            row = await queries.signal_view(conn, signal_id)
        if row is None or not (
            operator or (partner and partner.id in (row["partner_id"], row["assigned_partner_id"]))
        ):
            raise HTTPException(404, "no such signal")
        return {k: (str(v) if k == "signal_id" else v) for k, v in dict(row).items()}

    return api


async def _submit_batch(
    pool: asyncpg.Pool, intake: Intake, batch: list[Submission]
) -> list[Verdict]:
    """The whole batch in one transaction; if that fails, each half on its own, down to single
    events, so no event fails the rest (an event that fails alone fails the request)."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            return await intake.submit_many(conn, batch)
    except asyncpg.PostgresError:
        if len(batch) == 1:
            raise
    half = len(batch) // 2
    return await _submit_batch(pool, intake, batch[:half]) + await _submit_batch(
        pool, intake, batch[half:]
    )


async def _read_limited(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _batch_items(body: bytes) -> list[bytes | Verdict] | JSONResponse:
    """The batch's events, each as the bytes intake judges (or its verdict already)."""
    try:
        items = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return problem(400, "invalid batch", errors=[{"field": "", "message": "not valid JSON"}])
    except RecursionError:
        return problem(
            400,
            "invalid batch",
            errors=[{"field": "", "message": "the batch is nested too deeply to be read"}],
        )
    if not isinstance(items, list):
        return problem(
            400,
            "invalid batch",
            errors=[{"field": "", "message": "a batch must be a JSON array of events"}],
        )
    if len(items) > MAX_BATCH:
        return problem(
            400,
            "invalid batch",
            errors=[
                {
                    "field": "",
                    "message": f"a batch holds at most {MAX_BATCH} events, not {len(items)}",
                }
            ],
        )
    return [_item_bytes(item) for item in items]


def _item_bytes(item: Any) -> bytes | Verdict:
    """One event of a batch as compact UTF-8 JSON, for the validator to judge like any event."""
    try:
        return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800") has no UTF-8 form: keep it escaped, so the validator
        # refuses it at its field, as it does in a single event.
        return json.dumps(item, separators=(",", ":")).encode()
    except RecursionError:
        return TOO_DEEP


def _single_answer(verdict: Verdict) -> JSONResponse:
    code = STATUS_CODE[verdict.status]
    if code == 202:
        return JSONResponse({"signal_id": verdict.signal_id, "status": verdict.status}, 202)
    return problem(code, TITLES[code], errors=[e.model_dump() for e in verdict.errors])


def _batch_answer(verdict: Verdict) -> dict[str, Any]:
    if verdict.status in ("accepted", "duplicate"):
        return {"signal_id": verdict.signal_id, "status": verdict.status}
    return {
        "signal_id": None,
        "status": "rejected",
        "reason": verdict.status,
        "errors": [e.model_dump() for e in verdict.errors],
    }


def _too_many(wait: float) -> JSONResponse:
    retry = "3600" if math.isinf(wait) else str(max(1, math.ceil(wait)))
    return problem(
        429,
        "too many requests",
        detail="this partner's rate is exceeded",
        headers={"Retry-After": retry},
    )
