"""GET /api/v1/feed: what concerns the caller, live, as server-sent events."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import StreamingResponse

from services.notify.broadcast import FeedBroadcaster
from services.notify.web.api import Caller, caller

router = APIRouter(prefix="/api/v1", tags=["feed"])


@router.get(
    "/feed",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, 401: {}},
)
async def feed(
    request: Request,
    who: Caller = Depends(caller),
    last_event_id: str | None = Header(
        None,
        description="The `id` of the last event received: the stream resumes after it, without"
        " missing one (within NOTIFY_FEED_KEEP_HOURS). Browsers send it when they reconnect.",
    ),
) -> StreamingResponse:
    """Every consumed event for an operator; a partner's own (its assignments) for a partner.

    Each event's `id` is its place in the feed. The stream stays open: a comment line
    (`: ping`) every 15 s keeps it alive when no event comes."""
    broadcaster: FeedBroadcaster = request.app.state.feed
    settings = request.app.state.settings
    return StreamingResponse(
        broadcaster.stream(
            who.owner, _position(last_event_id), heartbeat_s=settings.feed_heartbeat_s
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _position(last_event_id: str | None) -> int | None:
    """The feed position a Last-Event-ID names; None (from now on) for anything else."""
    value = (last_event_id or "").strip()
    return int(value) if value.isdigit() and len(value) < 19 else None
