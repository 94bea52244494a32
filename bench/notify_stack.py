"""The notify latency bench's stack: intake, routing and notify as separate processes, as
deployed, and the partner's webhook receiver as a fourth; subscriptions through notify's API."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tools.devstack import REPO, DemoCredentials, ServiceProcesses, write_partner_registry
from wijkbus.infra import Backend, free_port

SERVICES = ("intake", "routing", "notify")


@dataclass
class Stack:
    """The running processes and how to reach them."""

    procs: ServiceProcesses
    receiver: subprocess.Popen[bytes]
    receiver_url: str
    creds: DemoCredentials
    subscriptions: list[str] = field(default_factory=list)

    @property
    def notify_url(self) -> str:
        """notify's base URL."""
        return self.procs.url("notify")

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds (user + system) each service process has used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        used = {}
        for name in SERVICES:
            fields = Path(f"/proc/{self.procs.procs[name].pid}/stat").read_text().rsplit(")", 1)
            utime, stime = fields[1].split()[11:13]
            used[name] = (int(utime) + int(stime)) / ticks
        return used

    async def arrivals(self, since: int) -> tuple[int, list[tuple[float, str]]]:
        """The receiver's request count and the assignments it got after the `since`-th."""
        async with httpx.AsyncClient(timeout=30) as http:
            answer = (await http.get(f"{self.receiver_url}?since={since}")).json()
        return answer["requests"], [(at, sid) for at, sid in answer["arrivals"]]

    async def counts(self) -> tuple[int, int]:
        """How many requests and assignments the receiver got so far."""
        async with httpx.AsyncClient(timeout=30) as http:
            answer = (await http.get(f"{self.receiver_url}?since={2**62}")).json()
        return answer["requests"], answer["count"]

    async def subscribe(self, bodies: list[dict[str, Any]]) -> None:
        """End the subscriptions of the previous mode; create these (webhooks to the receiver)."""
        auth = {"Authorization": f"Bearer {self.creds.operator_token}"}
        async with httpx.AsyncClient(base_url=self.notify_url, timeout=30, headers=auth) as http:
            for old in self.subscriptions:
                (await http.delete(f"/api/v1/subscriptions/{old}")).raise_for_status()
            self.subscriptions = []
            for n, body in enumerate(bodies):
                created = await http.post(
                    "/api/v1/subscriptions",
                    json={
                        "channel": "webhook",
                        "callback_url": f"{self.receiver_url}/hook/{n}",
                        "authorization": "Bearer bench",
                        **body,
                    },
                )
                created.raise_for_status()
                self.subscriptions.append(created.json()["id"])


def start(backend: Backend, database: str, workdir: Path, rate: int) -> Stack:
    """Start the receiver and the three services; wait until they answer."""
    creds = DemoCredentials.load_or_create(workdir / "credentials.json")
    partners = write_partner_registry(workdir / "partners.yaml", creds)
    procs = ServiceProcesses(
        workdir=workdir,
        bootstrap=backend.bootstrap,
        database_url=database,
        creds=creds,
        partners_file=partners,
        ports={name: free_port() for name in ("intake", "routing", "budget", "notify")},
        overrides={"INTAKE_RATE_PER_S": str(10 * rate), "WIJKBUS_LOG_LEVEL": "WARNING"},
    )
    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "-m", "bench.webhook_receiver", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    for name in SERVICES:
        procs.start(name)
    stack = Stack(procs, receiver, f"http://127.0.0.1:{port}", creds)
    try:
        procs.wait_ready(SERVICES)
        _wait_answering(stack.receiver_url)
    except BaseException:
        stop(stack)
        raise
    return stack


def _wait_answering(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.get(url, timeout=2).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def stop(stack: Stack) -> None:
    """Stop the processes this bench started (by their PIDs)."""
    stack.procs.stop_all()
    stack.receiver.terminate()
    try:
        stack.receiver.wait(timeout=10)
    except subprocess.TimeoutExpired:
        stack.receiver.kill()
        stack.receiver.wait()


async def sleep_until(check: Any, stall_s: float, poll_s: float = 0.5) -> None:
    """Poll `check()` (async, returning (done, progress)) until done or no progress for
    `stall_s`."""
    last, moved = None, time.monotonic()
    while True:
        done, progress = await check()
        if done:
            return
        if progress != last:
            last, moved = progress, time.monotonic()
        elif time.monotonic() - moved > stall_s:
            return
        await asyncio.sleep(poll_s)
