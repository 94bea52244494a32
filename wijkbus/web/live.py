"""Dashboards that update themselves: a small server-sent-events endpoint per dashboard.

Every few seconds the endpoint runs the service's fingerprint query (one row of a few maxima
and counts) and sends `event: bijgewerkt` when its row changes; the page's script
(`_live.html`) then fetches the page again and swaps its `data-live` parts, so totals stay
the database's own and nothing of the page is kept in the browser.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
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


class Pulse:
    """What a service's pages show, as a short fingerprint of its `fingerprint` query's row:
    asked of the database at most once per interval, however many pages are open. `args` gives
    the query's parameters for a request (e.g. the service's clock)."""

    def __init__(
        self,
        fingerprint: str,
        interval_s: float,
        args: Callable[[Request], Sequence[Any]] = lambda request: (),
    ) -> None:
        self.fingerprint, self.interval_s, self._args = fingerprint, interval_s, args
        self._lock = asyncio.Lock()
        self._state, self._at = "", float("-inf")

    async def state(self, request: Request) -> str:
        """The fingerprint now (or as of less than an interval ago)."""
        async with self._lock:
            if time.monotonic() - self._at >= self.interval_s:
                async with request.app.state.runtime.pool.acquire() as conn:
                    row = await conn.fetchrow(self.fingerprint, *self._args(request))
                self._state = hashlib.sha256(repr(tuple(row or ())).encode()).hexdigest()[:16]
                self._at = time.monotonic()
            return self._state


def add_live_route(
    router: APIRouter,
    path: str,
    fingerprint: str,
    *,
    dependencies: Sequence[Depends],
    interval_s: float = 2.0,
) -> None:
    """Serve `path` as an event stream that says 'bijgewerkt' whenever the row the
    `fingerprint` query gives changes (one query per interval for all of an app's open pages)."""

    async def live(request: Request) -> StreamingResponse:
        pulse = _app_pulse(request, path, fingerprint, interval_s)
        return StreamingResponse(
            _changes(request, pulse),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    router.add_api_route(
        path, live, methods=["GET"], include_in_schema=False, dependencies=list(dependencies)
    )


def _app_pulse(request: Request, path: str, fingerprint: str, interval_s: float) -> Pulse:
    """The app's pulse of `path` (per app: one process may run several, as tests do)."""
    pulses: dict[str, Pulse] | None = getattr(request.app.state, "live_pulses", None)
    if pulses is None:
        pulses = request.app.state.live_pulses = {}
    return pulses.setdefault(path, Pulse(fingerprint, interval_s))


async def _changes(request: Request, pulse: Pulse) -> AsyncIterator[str]:
    """'ready' at once, then 'bijgewerkt' per change; a comment now and then keeps it open."""
    last, quiet = await pulse.state(request), 0.0
    yield "retry: 5000\nevent: ready\ndata: {}\n\n"
    while not await request.is_disconnected():
        await asyncio.sleep(pulse.interval_s)
        now = await pulse.state(request)
        if now != last:
            last, quiet = now, 0.0
            yield "event: bijgewerkt\ndata: {}\n\n"  # the page says when: its own clock
        elif (quiet := quiet + pulse.interval_s) >= HEARTBEAT_S:
            quiet = 0.0
            yield ": ping\n\n"
