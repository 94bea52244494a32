"""GET /api/v1/feed: what concerns the caller, live, as server-sent events."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from services.notify.feed import FeedBroadcaster
from services.notify.web.api import Caller, caller

router = APIRouter(prefix="/api/v1", tags=["feed"])


@router.get(
    "/feed",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, 401: {}},
)
async def feed(request: Request, who: Caller = Depends(caller)) -> StreamingResponse:
    """Every consumed event for an operator; a partner's own (its assignments) for a partner."""
    broadcaster: FeedBroadcaster = request.app.state.feed
    settings = request.app.state.settings
    return StreamingResponse(
        broadcaster.stream(
            who.owner, heartbeat_s=settings.feed_heartbeat_s, max_s=settings.feed_max_s
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
