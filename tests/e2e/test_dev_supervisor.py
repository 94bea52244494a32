"""The dev stack's supervisor: a killed service comes back by itself, and so does a killed
broker, after which every service republishes its log; nothing is lost or counted twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support import encode, eventually, signal_event, unique
from tools.devstack import (
    DEMO_PARTNERS,
    SERVICES,
    DemoCredentials,
    ServiceProcesses,
    write_partner_registry,
)
from tools.supervisor import Supervisor
from wijkbus.infra import Backend, EmbeddedBroker, free_port

CORP = "woonstichting-noord"
SOURCE = {p["id"]: p["source"] for p in DEMO_PARTNERS}[CORP]


class Supervised:
    """A stack of its own (broker included) with its supervisor ticking in a thread."""

    def __init__(self, stack: ServiceProcesses, broker: EmbeddedBroker) -> None:
        self.stack, self.broker, self.said = stack, broker, list[str]()
        self.supervisor = Supervisor(stack, broker, self.said.append)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.supervisor.tick()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture
def supervised(backend: Backend, tmp_path: Path) -> Iterator[Supervised]:
    name = f"sup_{unique('db').replace('-', '_')}"
    database_url = backend.create_database(name)
    broker = EmbeddedBroker().start()
    creds = DemoCredentials.load_or_create(tmp_path / "secrets.json")
    partners = write_partner_registry(tmp_path / "partners.yaml", creds)
    ports = {service: free_port() for service in SERVICES}
    stack = ServiceProcesses(tmp_path, broker.bootstrap, database_url, creds, partners, ports=ports)
    stack.start_all()
    running = None
    try:
        stack.wait_ready()
        running = Supervised(stack, broker)
        yield running
    finally:
        if running is not None:
            running.close()
        stack.stop_all()
        broker.stop()
        backend.drop_database(name)


async def _send(stack: ServiceProcesses, street: str) -> None:
    headers = {
        "Content-Type": "application/cloudevents-batch+json",
        "Authorization": f"Bearer {stack.creds.api_keys[CORP]}",
    }
    body = encode([signal_event(SOURCE, street=street)])
    async with httpx.AsyncClient(base_url=stack.url("intake"), timeout=30) as http:
        answer = await http.post("/api/v1/events", headers=headers, content=body)
    assert answer.status_code == 202, answer.text
    assert [r["status"] for r in answer.json()] == ["accepted"]


async def _assigned(stack: ServiceProcesses, street: str) -> int:
    conn = await asyncpg.connect(stack.database_url)
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM routing.assignments WHERE street_key = $1",
            f"naam:groningen:{street.lower()}",
        )
        return int(found)
    finally:
        await conn.close()


async def _ready(stack: ServiceProcesses) -> bool:
    async with httpx.AsyncClient(timeout=2) as http:
        for name in SERVICES:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(stack.url(name) + "/readyz")).status_code == 200:
                    continue
            return False
    return True


async def test_a_killed_service_and_a_killed_broker_come_back_and_lose_nothing(
    supervised: Supervised,
) -> None:
    stack, street = supervised.stack, unique("Hersteldestraat")
    await _send(stack, street)
    await eventually(lambda: _assigned(stack, street), what="the first signal routed")

    old = stack.procs["intake"].pid
    os.kill(old, signal.SIGKILL)
    await eventually(lambda: _restarted(stack, "intake", old), timeout=60, what="intake back")
    await eventually(lambda: _ready(stack), timeout=90, what="the stack ready again")
    assert any(line.startswith("intake exited with -9") for line in supervised.said)
    await _send(stack, street)
    await eventually(lambda: _n(stack, street, 2), timeout=60, what="the second signal routed")

    assert supervised.broker.pid is not None
    os.kill(supervised.broker.pid, signal.SIGKILL)
    await eventually(
        lambda: _said(supervised, "broker and services restarted"), timeout=120,
        what="the broker restarted",
    )  # fmt: skip
    await eventually(lambda: _ready(stack), timeout=120, what="the stack ready after the broker")
    await _send(stack, street)
    await eventually(lambda: _n(stack, street, 3), timeout=90, what="the third signal routed")
    await asyncio.sleep(3)  # the republished log must not count anything twice
    assert await _assigned(stack, street) == 3


async def _restarted(stack: ServiceProcesses, name: str, old_pid: int) -> bool:
    proc = stack.procs.get(name)
    return proc is not None and proc.pid != old_pid and proc.poll() is None


async def _n(stack: ServiceProcesses, street: str, n: int) -> bool:
    return await _assigned(stack, street) >= n


async def _said(supervised: Supervised, text: str) -> bool:
    return any(text in line for line in supervised.said)
