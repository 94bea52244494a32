"""The whole stack as four separate service processes, plus a partner's webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from tests.support import running_app
from tools.devstack import SERVICES, DemoCredentials, ServiceProcesses, write_partner_registry
from wijkbus.infra import Backend, free_ports


@pytest.fixture(scope="module")
def stack(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcesses]:
    """intake, routing, budget and notify as processes on a database of this module's own."""
    workdir = tmp_path_factory.mktemp("stack")
    name = f"e2e_{workdir.name.replace('-', '_')}"
    database_url = backend.create_database(name)
    creds = DemoCredentials.load_or_create(workdir / "secrets.json")
    partners = write_partner_registry(workdir / "partners.yaml", creds)
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))  # not the dev stack's
    processes = ServiceProcesses(
        Path(workdir), backend.bootstrap, database_url, creds, partners, ports=ports
    )
    processes.start_all()
    try:
        processes.wait_ready()
        yield processes
    finally:
        processes.stop_all()
        backend.drop_database(name)


@dataclass
class Receiver:
    """A partner back-office's webhook endpoint that records what it receives."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """The CloudEvents received, optionally of one type."""
        return [r["body"] for r in self.received if type_ is None or r["body"]["type"] == type_]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A real local HTTP server that answers 204 to every webhook and remembers it."""
    recorded = Receiver()
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        recorded.received.append({"headers": dict(request.headers), "body": await request.json()})
        return Response(status_code=204)

    async with running_app(app) as url:
        recorded.url = url + "/hook"
        yield recorded
