"""A fresh clone with `make run` running, for the README test.

`python -m tools dev` (what `make run` runs) in a directory laid out as a clone: `examples/` and
`deploy/` of this checkout, `.venv` the interpreter's environment, `.wijkbus/` its own. It runs on
a database and broker of the test's own; the commands then get nothing but what a user's shell
has, so they find the stack in `.wijkbus/stack.json` as the README says they do.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.devstack import DEFAULT_PORTS, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
# Servers and keys a user's shell does not name: the tools find what they need in stack.json.
FROM_THE_STACK = (
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "WIJKBUS_PARTNERS",
    "BUDGET_VAULT_KEY",
    "INTAKE_LEDGER_KEY",
    "INTAKE_LEDGER_PUBLIC_KEY",
)
RUNNING = "wijkbus is running"


@dataclass(frozen=True)
class Block:
    """One fenced block of the README: its language, its text and the line it starts on."""

    lang: str
    text: str
    line: int

    @property
    def first(self) -> str:
        return self.text.splitlines()[0]


def readme_blocks() -> list[Block]:
    """Every fenced block of the README, in order."""
    return [
        Block(m.group(1), m.group(2), README.count("\n", 0, m.start()) + 1)
        for m in re.finditer(r"^```(\w*)\n(.*?)^```", README, flags=re.S | re.M)
    ]


@dataclass
class Clone:
    """The clone's directory and the environment a user's shell in it has."""

    root: Path
    env: dict[str, str]
    stack: dict[str, Any] = field(default_factory=dict)

    def localized(self, text: str) -> str:
        """The README's service addresses (8001…8004) as this stack's: another stack may
        hold those ports, and then `make run` takes free ones (it says which in stack.json)."""
        for name, port in DEFAULT_PORTS.items():
            text = text.replace(f"http://127.0.0.1:{port}", self.stack["services"][name])
        return text

    def wijkbus(
        self, line: str, *, answer: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`.venv/bin/wijkbus LINE` in the clone, as bash expands and splits it."""
        return subprocess.run(
            ["bash", "-c", f".venv/bin/wijkbus {line}"],
            cwd=self.root,
            env=env or self.env,
            input=answer or "",
            capture_output=True,
            text=True,
            timeout=180,
        )


def user_env() -> dict[str, str]:
    """A user's shell: no servers or keys named, this checkout's code, wide enough tables."""
    env = {k: v for k, v in os.environ.items() if k not in FROM_THE_STACK}
    env.update(PYTHONPATH=str(REPO), COLUMNS="200")
    return env


def lay_out(root: Path) -> Clone:
    """A directory that looks like a clone where `make install` ran."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("examples", "deploy"):
        (root / name).symlink_to(REPO / name)
    (root / ".venv").symlink_to(Path(sys.prefix))
    return Clone(root, user_env())


def start_dev(clone: Clone, database_url: str, bootstrap: str) -> subprocess.Popen[bytes]:
    """`python -m tools dev` in the clone (with these servers); returns once it is running."""
    log = (clone.root / "dev.log").open("wb")
    env = {**clone.env, "DATABASE_URL": database_url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools", "dev"],
        cwd=clone.root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while RUNNING not in dev_log(clone):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_dev(proc)
            raise AssertionError(f"`make run` did not come up:\n{dev_log(clone)[-4000:]}")
        time.sleep(1)
    clone.stack = json.loads((clone.root / ".wijkbus" / "stack.json").read_text())
    return proc


def dev_log(clone: Clone) -> str:
    return (clone.root / "dev.log").read_text(errors="replace")


def stop_dev(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a user stops `make run`; its process group only if it does not stop."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
