"""GET /dashboard/live: the dashboard's own server-sent events, so its pages update in place.

The stream says `bijgewerkt` whenever what routing's pages show may have changed: a new entry
in routing's log (every assignment, escalation, feedback, crossing and wijkhub decision is one),
a new dead letter, or an assignment turning late as time passes. The page then fetches itself
and swaps in the new content; nothing else crosses the stream (no personal data, no ids).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from services.routing.worklist import LATE
from wijkbus.auth import require_operator_page
from wijkbus.web.live import Pulse

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_operator_page)])
STATE = (
    "SELECT (SELECT coalesce(max(id), 0) FROM outbox) AS logged,"
    " (SELECT coalesce(max(id), 0) FROM dead_letters) AS dead,"
    f" (SELECT count(*) FROM assignments WHERE {LATE}) AS late"
)


def pulse(interval_s: float) -> Pulse:
    """Routing's pulse: its log, its dead letters and how many assignments are late now."""
    return Pulse(STATE, interval_s, lambda request: (request.app.state.clock(),))


@router.get("/dashboard/live", response_class=StreamingResponse)
async def live(request: Request) -> StreamingResponse:
    """`event: bijgewerkt` now and at every change; a comment line in between keeps it open."""
    return StreamingResponse(
        changes(request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def changes(request: Request) -> AsyncIterator[str]:
    """The stream's lines until the browser goes away."""
    pulse: Pulse = request.app.state.pulse
    seen = ""
    while not await request.is_disconnected():
        state = await pulse.state(request)
        yield f"event: bijgewerkt\ndata: {state}\n\n" if state != seen else ": ping\n\n"
        seen = state
        await asyncio.sleep(pulse.interval_s)
