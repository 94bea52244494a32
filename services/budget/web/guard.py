"""Failed code attempts are rate-limited per code and per client: a burst of mistakes, then a
slow trickle. The buckets live in PostgreSQL, so every replica counts against the same limit."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request

from services.budget.codes import normalise
from services.budget.handlers import Budget, SupportRefusedError
from wijkbus import ratelimit
from wijkbus.networks import client_of
from wijkbus.ratelimit import Database, SharedBuckets

T = TypeVar("T")


@dataclass
class CodeGuard:
    """Counts wrong and used codes per code and per client; either run dry, the client waits
    (429, Retry-After).

    Only failures cost a token, and a client is checked before it tries: so 200 simultaneous
    attempts with one code all get their real answer (one success, 199 "used"), and the
    attempts after them are refused until the buckets refill.
    """

    per_code: SharedBuckets
    per_client: SharedBuckets

    @classmethod
    def of(
        cls, per_minute: float, burst: float, clock: Callable[[], float] | None = None
    ) -> CodeGuard:
        """A guard allowing `burst` failures, then `per_minute`, for each code and each client."""
        rate = per_minute / 60
        return cls(
            SharedBuckets("code-failures", rate, burst, clock),
            SharedBuckets("client-code-failures", rate, burst, clock),
        )

    async def wait(self, db: Database, code: str, client: str) -> int:
        """Seconds before this code may be tried from this client again (0: go ahead)."""
        return (await self.waits(db, [(code, client)]))[0]

    async def waits(self, db: Database, attempts: list[tuple[str, str]]) -> list[int]:
        """`wait` for each (code, client) of a batch, in one read."""
        asks = [(self.per_code, normalise(code)) for code, _ in attempts]
        asks += [(self.per_client, client) for _, client in attempts]
        found = await ratelimit.waits(db, asks)
        n = len(attempts)
        return [math.ceil(max(found[i], found[n + i])) for i in range(n)]

    async def failed_each(self, db: Database, attempts: list[tuple[str, str]]) -> None:
        """`failed` for each (code, client) of a batch, in one statement."""
        spends = [(self.per_code, normalise(code)) for code, _ in attempts]
        await ratelimit.spend_each(db, spends + [(self.per_client, c) for _, c in attempts])

    async def failed(self, db: Database, code: str, client: str) -> None:
        """Record a wrong or used code against the code and the client."""
        await self.failed_each(db, [(code, client)])


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


async def attempt(
    request: Request, code: str, call: Callable[[Budget, Any], Awaitable[T]]
) -> T | Refusal:
    """Run a resident's call with `code` on a pooled connection, behind the guard against
    guessing codes."""
    guard: CodeGuard = request.app.state.code_guard
    client, pool = client_of(request), request.app.state.runtime.pool
    if wait := await guard.wait(pool, code, client):
        return Refusal(
            429,
            f"Te veel onjuiste of gebruikte codes. Probeer het over {wait} seconden weer.",
            wait,
        )
    try:
        async with pool.acquire() as conn:
            return await call(request.app.state.budget, conn)
    except SupportRefusedError as exc:
        if exc.kind in GUESSES:
            await guard.failed(pool, code, client)
        return Refusal(STATUS[exc.kind], exc.message)
