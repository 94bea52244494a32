"""The embedded dev stack: broker, database, demo partners and the four services as processes."""

from __future__ import annotations

import itertools
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiosmtpd.controller import Controller

from services.intake.ledger_acts import new_ledger_key
from tools import demo_operators
from wijkbus.infra import free_port
from wijkbus.partners import api_key_hash
from wijkbus.vault import new_master_key

SERVICES = ("intake", "routing", "budget", "notify")
DEFAULT_PORTS = {"intake": 8001, "routing": 8002, "budget": 8003, "notify": 8004}
REPO = Path(__file__).resolve().parent.parent
DEMO_RULES = REPO / "deploy" / "demo" / "routing-rules.yaml"
# The demo's buurten with their names (routing's pages name a buurt by them).
LOOPBACK_CIDRS = "127.0.0.0/8,::1/128"
DEMO_PARTNERS: list[dict[str, Any]] = [
    {
        "id": "gemeente-groningen",
        "name": "Gemeente Groningen",
        "role": "gemeente",
        "source": "urn:nld:oin:00000001001589623000:systeem:meldingen",
        "may_send": ["overlast", "vernieling", "vervuiling", "zorg"],
        "may_read_personal_data": False,
    },
    {
        "id": "politie-groningen",
        "name": "Politie Noord-Nederland, basisteam Groningen",
        "role": "politie",
        "source": "urn:nld:oin:00000001003214345000:systeem:bvh",
        "may_send": ["overlast", "vernieling", "ondermijning"],
        "may_read_personal_data": False,
    },
    {
        "id": "woonstichting-noord",
        "name": "Woonstichting Noord",
        "role": "woningcorporatie",
        "source": "urn:nld:kvknr:12345678:systeem:huurbeheer",
        "may_send": ["overlast", "vernieling", "vervuiling", "huurachterstand"],
        "may_read_personal_data": False,
    },
    {
        "id": "wij-groningen",
        "name": "WIJ Groningen",
        "role": "welzijn",
        "source": "urn:nld:kvknr:87654321:systeem:wijteams",
        "may_send": ["zorg", "overlast"],
        "may_read_personal_data": True,
    },
]


def secret_env_name(partner_id: str) -> str:
    """The env var holding a partner's signing secret: PARTNER_<ID>_SECRET."""
    return f"PARTNER_{partner_id.upper().replace('-', '_')}_SECRET"


@dataclass
class DemoCredentials:
    """Keys of the demo stack, kept in `.wijkbus/secrets.json` so a second run reuses them."""

    operator_token: str
    notify_secret_key: str
    api_keys: dict[str, str]
    signing_secrets: dict[str, str]
    # Defaulted so that a secrets.json from before the vaults still loads (and gets them added).
    vault_key: str = field(default_factory=new_master_key)
    budget_vault_key: str = field(default_factory=new_master_key)
    routing_vault_key: str = field(default_factory=new_master_key)
    ledger_key: str = field(default_factory=new_ledger_key)
    operator_passwords: dict[str, str] = field(default_factory=demo_operators.new_passwords)

    @classmethod
    def load_or_create(cls, path: Path) -> DemoCredentials:
        """Read the credentials file, or make new random credentials and write it (mode 600)."""
        if path.exists():
            stored = json.loads(path.read_text())
            loaded = cls(**stored)
            if stored.keys() != loaded.__dict__.keys():
                path.write_text(json.dumps(loaded.__dict__, indent=2))
            return loaded
        creds = cls(
            operator_token=secrets.token_urlsafe(24),
            notify_secret_key=secrets.token_urlsafe(32),
            api_keys={p["id"]: "wb_" + secrets.token_urlsafe(24) for p in DEMO_PARTNERS},
            signing_secrets={p["id"]: secrets.token_urlsafe(32) for p in DEMO_PARTNERS},
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(creds.__dict__, indent=2))
        path.chmod(0o600)
        return creds


def write_partner_registry(path: Path, creds: DemoCredentials) -> Path:
    """Write the demo partner registry (hashes only; secrets come from the environment)."""
    entries = [
        {
            **p,
            "api_key_sha256": api_key_hash(creds.api_keys[p["id"]]),
            "signing_secret_env": secret_env_name(p["id"]),
        }
        for p in DEMO_PARTNERS
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(entries, sort_keys=False, allow_unicode=True))
    return path


class MailSink:
    """A local SMTP server for notify's e-mail: keeps every message as a .eml file in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self._numbers = itertools.count(1)
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message as it was sent (aiosmtpd calls this for each one)."""
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self._numbers):04d}.eml"
        (self.folder / name).write_bytes(envelope.original_content)
        return "250 OK"

    def start(self) -> None:
        """Listen on the loopback port, in a thread of its own."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening (the kept messages stay)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass
class ServiceProcesses:
    """The four services as separate `python -m services.<name>` processes."""

    workdir: Path
    bootstrap: str
    database_url: str
    creds: DemoCredentials
    partners_file: Path
    rules_file: Path = DEMO_RULES
    operators_file: Path | None = None  # the operator accounts (none: the token logs in)
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)  # extra env for every service

    def __post_init__(self) -> None:
        for name in SERVICES:
            self.ports.setdefault(name, _port_or_free(DEFAULT_PORTS[name]))
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        self.mail = MailSink(self.workdir / "mail")

    def url(self, name: str) -> str:
        """The base URL of a service."""
        return f"http://127.0.0.1:{self.ports[name]}"

    def env(self, name: str) -> dict[str, str]:
        """The environment a service process starts with."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARTNER_")}
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "DATABASE_URL": self.database_url,
                "WIJKBUS_PARTNERS": str(self.partners_file),
                "WIJKBUS_BUURTEN": str(REPO / "deploy" / "demo" / "buurten.csv"),
                "WIJKBUS_ROUTING_PAGES": self.url("routing"),  # dashboards link to its pages
                "WIJKBUS_OPERATOR_TOKEN": self.creds.operator_token,
                "WIJKBUS_LOG_FORMAT": "json",
                f"{name.upper()}_HOST": "127.0.0.1",
                f"{name.upper()}_PORT": str(self.ports[name]),
                "ROUTING_RULES": str(self.rules_file),
                "NOTIFY_SECRET_KEY": self.creds.notify_secret_key,
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.operators_file is not None:
            env["WIJKBUS_OPERATORS"] = str(self.operators_file)
        if name == "intake":  # the only service that verifies partner signatures
            for pid, secret in self.creds.signing_secrets.items():
                env[secret_env_name(pid)] = secret
            env["INTAKE_VAULT_KEY"] = self.creds.vault_key
            env["INTAKE_LEDGER_KEY"] = self.creds.ledger_key  # its acts verify across restarts
        if name == "routing":  # wijkhub contacts stay readable across restarts
            env["ROUTING_VAULT_KEY"] = self.creds.routing_vault_key
            # A signal page shows intake's and notify's steps of the signal, from their APIs.
            env.update({"ROUTING_INTAKE_URL": self.url("intake"),
                        "ROUTING_NOTIFY_URL": self.url("notify")})  # fmt: skip
        if name == "budget":  # initiator contacts stay readable across restarts
            env["BUDGET_VAULT_KEY"] = self.creds.budget_vault_key
        if name == "notify":
            env.update({"NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_PORT": str(self.mail.port)})
            # Demo receivers run on this machine: the dev stack lets webhooks reach loopback,
            # which a deployed notify refuses (NOTIFY_ALLOW_CIDRS is empty there).
            env["NOTIFY_ALLOW_CIDRS"] = LOOPBACK_CIDRS
            # The initiator channel asks budget's operator API for an initiator's address.
            env.update({"NOTIFY_BUDGET_URL": self.url("budget"),
                        "NOTIFY_BUDGET_TOKEN": self.creds.operator_token})  # fmt: skip
            # Where a Notificaties API notificatie's hoofdObject and resourceUrl point.
            env.update({"NOTIFY_INTAKE_URL": self.url("intake"),
                        "NOTIFY_ROUTING_URL": self.url("routing")})  # fmt: skip
        env.update(self.overrides)
        return env

    def start(self, name: str) -> None:
        """Start one service process; its output goes to `logs/<name>.log`."""
        with (self.workdir / "logs" / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"],
                cwd=REPO,
                env=self.env(name),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def restart(self, name: str, timeout: float = 15.0) -> None:
        """Stop one service we started (SIGTERM, then SIGKILL) and start it again."""
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.start(name)

    def start_all(self) -> None:
        """Start the mail sink and the four services."""
        self.mail.start()
        for name in SERVICES:
            self.start(name)

    def wait_ready(self, names: tuple[str, ...] = SERVICES, timeout: float = 90.0) -> None:
        """Wait until each service's /readyz answers 200; fail with its log tail otherwise."""
        deadline = time.monotonic() + timeout
        for name in names:
            while True:
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}"
                    )
                try:
                    if httpx.get(self.url(name) + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready after {timeout}s:\n{self.log_tail(name)}")
                time.sleep(0.2)

    def log_tail(self, name: str, size: int = 3000) -> str:
        """The end of a service's log."""
        path = self.workdir / "logs" / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else "(no log)"

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to a service we started, by its PID, and reap it."""
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        proc.wait(timeout=30)

    def stop_all(self, timeout: float = 15.0) -> None:
        """SIGTERM every service we started, then SIGKILL what did not stop in time; stop mail."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        self.mail.stop()

    def describe(self) -> dict[str, Any]:
        """The `.wijkbus/stack.json` document."""
        return {
            "broker": self.bootstrap,
            "database_url": self.database_url,
            "services": {name: self.url(name) for name in SERVICES},
            "partners_file": str(self.partners_file),
            "mail": {"smtp": f"127.0.0.1:{self.mail.port}", "folder": str(self.mail.folder)},
            "operator_token": self.creds.operator_token,
            # the key budget seals addresses with: `wijkbus budget` opens them with it
            "budget_vault_key": self.creds.budget_vault_key,
            "operators": demo_operators.logins(self.creds.operator_passwords),
            "demo_partners": [
                {
                    "id": p["id"],
                    "source": p["source"],
                    "role": p["role"],
                    "api_key": self.creds.api_keys[p["id"]],
                    "signing_secret": self.creds.signing_secrets[p["id"]],
                }
                for p in DEMO_PARTNERS
            ],
        }


def _port_or_free(port: int) -> int:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port
