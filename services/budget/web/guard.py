"""Failed code attempts are rate-limited per client: a burst of mistakes, then a slow trickle."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request

from services.budget.handlers import Budget, SupportRefusedError
from wijkbus.ratelimit import TokenBuckets

T = TypeVar("T")


@dataclass
class CodeGuard:
    """Counts wrong and used codes per client; a client that ran dry waits (429, Retry-After).

    Only failures cost a token, and a client is checked before it tries: so 200 simultaneous
    attempts with one code all get their real answer (one success, 199 "used"), and the
    attempts after them are refused until the bucket refills.
    """

    per_minute: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _blocked_until: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._buckets = TokenBuckets(self.per_minute / 60, self.burst, clock=self.clock)

    def wait(self, client: str) -> int:
        """Seconds the client must wait before it may try a code again (0: go ahead)."""
        until = self._blocked_until.get(client, 0.0)
        remaining = until - self.clock()
        return math.ceil(remaining) if remaining > 0 else 0

    def failed(self, client: str) -> None:
        """Record a wrong or used code; block the client once its bucket is empty."""
        wait = self._buckets.take(client)
        if wait:
            self._blocked_until[client] = self.clock() + wait


STATUS = {
    "unknown-code": 403,
    "other-buurt": 403,
    "used": 409,
    "closed": 409,
    "not-supported": 409,
    "not-found": 404,
    "invalid": 400,
}
# Only these count against the client's budget of mistakes: they are how codes are guessed.
GUESSES = {"unknown-code", "used"}


@dataclass(frozen=True)
class Refusal:
    """Why a resident's request was not honoured: HTTP status, Dutch message, wait if limited."""

    status: int
    message: str
    retry_after: int | None = None


def client_of(request: Request) -> str:
    """Who is trying codes, for the rate limit: the client's address."""
    return request.client.host if request.client else "unknown"


async def attempt(request: Request, call: Callable[[Budget, Any], Awaitable[T]]) -> T | Refusal:
    """Run a resident's call on a pooled connection, behind the guard against guessing codes."""
    guard: CodeGuard = request.app.state.code_guard
    client = client_of(request)
    if wait := guard.wait(client):
        return Refusal(
            429,
            f"Te veel onjuiste of gebruikte codes. Probeer het over {wait} seconden weer.",
            wait,
        )
    try:
        async with request.app.state.runtime.pool.acquire() as conn:
            return await call(request.app.state.budget, conn)
    except SupportRefusedError as exc:
        if exc.kind in GUESSES:
            guard.failed(client)
        return Refusal(STATUS[exc.kind], exc.message)
