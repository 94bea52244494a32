"""Counts every HTTP request by its route template (never the raw path) and status, and times it."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wijkbus import metrics

UNMATCHED = "unmatched"  # no route: a 404 or 405 whose path says nothing we may keep
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(scope: Scope) -> str:
    """The template of the route that took the request (`/api/v1/signals/{signal_id}`)."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestMetrics:
    """ASGI middleware: `wijkbus_http_requests_total` and the latency histogram, per route."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; count it with the status it was answered with (500: none)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route, method = route_of(scope), scope.get("method", "")
            method = method if method in METHODS else "other"  # a client names it: bound it
            metrics.HTTP_REQUESTS.labels(self.service, route, method, str(status)).inc()
            metrics.HTTP_LATENCY.labels(self.service, route, method).observe(
                time.perf_counter() - started
            )
