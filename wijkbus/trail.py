"""A signal's trail: the steps each service can tell of it, in one shape.

Each service knows its own part (`services.<name>.trail`); `wijkbus audit trail` and routing's
signal page put them together. A step names partners, rules and outcomes, never personal data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
from fastapi import APIRouter, Depends, Path, Request

from wijkbus.auth import require_operator_api


@dataclass(frozen=True)
class Step:
    """One thing that happened to the signal."""

    at: datetime
    service: str
    what: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {**asdict(self), "at": self.at.isoformat()}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Step:
        return cls(
            datetime.fromisoformat(value["at"]), value["service"], value["what"], value["detail"]
        )


async def schema_exists(conn: asyncpg.Connection, schema: str) -> bool:
    """Whether `schema` exists (a service that never ran has nothing to tell)."""
    return bool(await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema))


TrailSteps = Callable[[asyncpg.Connection, str], Awaitable[list[Step]]]


def trail_router(service: str, steps: TrailSteps) -> APIRouter:
    """GET /api/v1/signals/{signal_id}/trail: this service's steps of one signal, for operators
    (routing's signal page shows them beside its own); an unknown signal has none."""
    router = APIRouter(prefix="/api/v1", tags=["trail"])

    @router.get(
        "/signals/{signal_id}/trail",
        dependencies=[Depends(require_operator_api)],
        responses={401: {}, 403: {}},
        summary=f"{service}'s steps of one signal (operators)",
    )
    async def signal_trail(
        request: Request, signal_id: str = Path(max_length=100)
    ) -> dict[str, Any]:
        async with request.app.state.runtime.pool.acquire() as conn:
            found = await steps(conn, signal_id)
        return {"signal_id": signal_id, "steps": [s.as_json() for s in found]}

    return router


@dataclass(frozen=True)
class Elsewhere:
    """Another service's steps of a signal, as its API gave them, or why there are none."""

    service: str
    steps: tuple[Step, ...] = ()
    unavailable: str | None = None


async def fetch_elsewhere(
    services: dict[str, str | None], signal_id: str, operator_token: str, timeout_s: float = 3.0
) -> list[Elsewhere]:
    """The steps the other services (name -> base URL, None when not configured) tell of one
    signal through GET /api/v1/signals/{id}/trail, asked side by side with the operator token.
    A service that cannot be asked is named with the reason; the page shows what it has."""
    headers = {"Authorization": f"Bearer {operator_token}"}
    async with httpx.AsyncClient(timeout=timeout_s, headers=headers) as client:
        return list(
            await asyncio.gather(
                *(_ask(client, name, url, signal_id) for name, url in services.items())
            )
        )


async def _ask(client: httpx.AsyncClient, name: str, url: str | None, signal_id: str) -> Elsewhere:
    if not url:
        return Elsewhere(name, unavailable="niet ingesteld")
    try:
        answer = await client.get(
            f"{url.rstrip('/')}/api/v1/signals/{quote(signal_id, safe='')}/trail"
        )
        answer.raise_for_status()
        steps = tuple(Step.from_json(s) for s in answer.json()["steps"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return Elsewhere(name, unavailable=f"niet bereikbaar ({type(exc).__name__})")
    return Elsewhere(name, steps)
