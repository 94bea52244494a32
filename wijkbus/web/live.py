"""Dashboards that update themselves: a small server-sent-events endpoint per dashboard.

Every few seconds the endpoint runs the service's fingerprint query (one row of a few maxima
and counts) and sends `event: bijgewerkt` when its row changes; the page's script
(`_live.html`) then fetches the page again and swaps its `data-live` parts, so totals stay
the database's own and nothing of the page is kept in the browser.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.params import Depends
from fastapi.responses import StreamingResponse

from wijkbus.web import dutch_time

HEARTBEAT_S = 15.0


def updated(now: datetime | None = None) -> dict[str, str]:
    """What a dashboard's 'bijgewerkt om …' line shows: when the page was made (the wall clock,
    not a service's domain clock, which tests may stop), local, zone named."""
    now = now or datetime.now(UTC)
    return {"updated_at": dutch_time.clock(now), "updated_iso": dutch_time.iso_local(now)}


def add_live_route(
    router: APIRouter,
    path: str,
    fingerprint: str,
    *,
    dependencies: Sequence[Depends],
    interval_s: float = 2.0,
) -> None:
    """Serve `path` as an event stream that says 'bijgewerkt' whenever the row the
    `fingerprint` query gives changes."""

    async def live(request: Request) -> StreamingResponse:
        return StreamingResponse(
            _changes(request, fingerprint, interval_s),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    router.add_api_route(
        path, live, methods=["GET"], include_in_schema=False, dependencies=list(dependencies)
    )


async def _changes(request: Request, fingerprint: str, interval_s: float) -> AsyncIterator[str]:
    """'ready' at once, then 'bijgewerkt' per change; a comment now and then keeps it open."""
    last, quiet = await _read(request, fingerprint), 0.0
    yield "retry: 5000\nevent: ready\ndata: {}\n\n"
    while not await request.is_disconnected():
        await asyncio.sleep(interval_s)
        now = await _read(request, fingerprint)
        if now != last:
            last, quiet = now, 0.0
            yield "event: bijgewerkt\ndata: {}\n\n"  # the page says when: its own clock
        elif (quiet := quiet + interval_s) >= HEARTBEAT_S:
            quiet = 0.0
            yield ": ping\n\n"


async def _read(request: Request, fingerprint: str) -> Any:
    async with request.app.state.runtime.pool.acquire() as conn:
        row = await conn.fetchrow(fingerprint)
    return tuple(row) if row else ()
