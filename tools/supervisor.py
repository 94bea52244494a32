"""The dev stack's supervisor: a service that exits is restarted with backoff, and the broker
is watched too.

The embedded broker keeps its messages in memory only. When it dies, the supervisor starts it
again on the same port and then restarts the four services: each one, starting, republishes its
log to every topic the broker now holds nothing of (`wijkbus.republish.republish_lost`), and
every consumer's inbox skips what it handled before. Events partners had written to their own
topics but intake had not read yet are gone with the broker; partners without a receipt send
again, as the contract asks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tools.devstack import SERVICES, ServiceProcesses
from wijkbus.infra import EmbeddedBroker

STABLE_S = 60.0  # a service up this long has its backoff reset
MAX_BACKOFF_S = 30.0


@dataclass
class Restarts:
    """One service's restarts: how many in a row, and when the next may happen."""

    in_a_row: int = 0
    due_at: float | None = None
    started_at: float = 0.0


@dataclass
class Supervisor:
    """Keeps the dev stack up; `tick` is called every half second by `make run`."""

    stack: ServiceProcesses
    broker: EmbeddedBroker | None
    say: Callable[[str], None]
    clock: Callable[[], float] = time.monotonic
    restarts: dict[str, Restarts] = field(default_factory=dict)

    def tick(self) -> None:
        """Restart the broker if it died, then any service that exited and whose wait is over."""
        if self.broker is not None and not self.broker.running:
            self._restart_broker()
            return
        for name in SERVICES:
            self._watch(name, self.restarts.setdefault(name, Restarts(started_at=self.clock())))

    def _watch(self, name: str, r: Restarts) -> None:
        now, proc = self.clock(), self.stack.procs.get(name)
        if proc is not None and proc.poll() is None:
            if r.in_a_row and now - r.started_at > STABLE_S:
                r.in_a_row = 0
            return
        if r.due_at is None:
            code = proc.returncode if proc is not None else "?"
            r.due_at = now + min(MAX_BACKOFF_S, 2.0**r.in_a_row)
            self.say(
                f"{name} exited with {code}; restarting in {r.due_at - now:.0f} s"
                f" (log: {self.stack.workdir / 'logs' / f'{name}.log'})"
            )
        elif now >= r.due_at:
            self.stack.start(name)
            r.in_a_row, r.due_at, r.started_at = r.in_a_row + 1, None, now
            self.say(f"{name} restarted (pid {self.stack.procs[name].pid})")

    def _restart_broker(self) -> None:
        assert self.broker is not None
        self.say("the broker exited and lost its messages (memory only): starting it again")
        self.broker.restart()
        for name in SERVICES:
            self.stack.restart(name)
        self.restarts.clear()
        self.say("broker and services restarted; each service republished its log")
