"""Intake over HTTP: accepted events/s posting batches, beside a bare FastAPI endpoint.

The ceiling is a FastAPI app with one route that reads the body and answers 202 without parsing
or storing anything, served the same way, posted the same batches by the same client in this run.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from fastapi import FastAPI, Request, Response

from contracts.envelope import BATCH_CONTENT_TYPE
from services.intake.app import IntakeSettings, build
from tools.simulate import demo_partner_registry, realistic_signals
from wijkbus.gc_policy import collecting_less
from wijkbus.infra import Backend, free_port
from wijkbus.partners import PartnerRegistry
from wijkbus.serve import serving

PARTNER = "woonstichting-noord"
BATCH = 500
CONCURRENCY = 4


def bare_app() -> FastAPI:
    """The raw ceiling: read the body, store nothing, answer 202."""
    app = FastAPI()

    @app.post("/api/v1/events")
    async def events(request: Request) -> Response:
        await request.body()
        return Response(status_code=202)

    return app


async def post_all(base: str, api_key: str, batches: list[bytes]) -> float:
    """Post every batch with a few concurrent clients; events per second."""
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": BATCH_CONTENT_TYPE}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            while not queue.empty():
                response = await http.post(
                    "/api/v1/events", content=queue.get_nowait(), headers=headers
                )
                if response.status_code != 202:
                    raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return len(batches) * BATCH / (time.perf_counter() - started)


async def main(backend: Backend, quick: bool) -> list[str]:
    """The printable result of this benchmark."""
    count = 5_000 if quick else 50_000
    registry, creds = demo_partner_registry()
    partner = registry.get(PARTNER)
    assert partner is not None
    events = list(realistic_signals(partner.source, count, seed=11))
    batches = [b"[" + b",".join(events[i : i + BATCH]) + b"]" for i in range(0, count, BATCH)]
    with collecting_less():  # as `python -m services.intake` runs; the ceiling likewise
        async with serving(bare_app(), free_port()) as bare:
            raw = await post_all(bare, "unused", batches)
        accepted = await _intake(backend, registry, creds.api_keys[PARTNER], batches)
    return [
        f"intake over HTTP, {count} signals in batches of {BATCH}, {CONCURRENCY} clients",
        f"  bare FastAPI endpoint     : {raw:10.0f} events/s",
        f"  intake (validated, stored): {accepted:10.0f} events/s",
        f"  ratio                     : {accepted / raw:10.3f}",
    ]


async def _intake(
    backend: Backend, registry: PartnerRegistry, api_key: str, batches: list[bytes]
) -> float:
    """Accepted events per second posting the batches to intake."""
    settings = IntakeSettings(
        database_url=backend.create_database(f"bench_http_{time.time_ns()}"),
        kafka_bootstrap_servers=backend.bootstrap,
        rate_per_s=1e9,
        rate_burst=1e9,
    )
    async with serving(build(settings, partners=registry), free_port()) as intake:
        return await post_all(intake, api_key, batches)
