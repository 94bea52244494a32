"""The `wijkbus` command line: the dev stack, migrations, partner tools, erasure and budget."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import typer
from rich.console import Console

from tools import demo_operators, devstack
from tools.supervisor import Supervisor
from wijkbus import db, erase_cli
from wijkbus.cli_run import run
from wijkbus.infra import start_backend
from wijkbus.logging import configure_logging
from wijkbus.transport_security import DatabaseTls, with_tls

app = typer.Typer(help="wijkbus: the neighbourhood event bus.", no_args_is_help=True)
console = Console()


def _print_version(asked: bool) -> None:
    if asked:
        console.print(f"wijkbus {_version()}")
        raise typer.Exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wijkbus")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


@app.callback()
def _options(
    show_version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="print the version"
    ),
) -> None:
    """wijkbus: the neighbourhood event bus."""


app.command()(erase_cli.erase)
SERVICE_DIRS = {
    name: devstack.REPO / "services" / name / "migrations" for name in devstack.SERVICES
}


async def _migrate_all(database_url: str) -> dict[str, list[str]]:
    return {
        name: await db.migrate_url(database_url, name, path) for name, path in SERVICE_DIRS.items()
    }


@app.command()
def migrate(database_url: str = typer.Option(..., envvar="DATABASE_URL")) -> None:
    """Apply every service's pending migrations to DATABASE_URL."""
    for name, applied in run(_migrate_all(database_url), doing="migrating").items():
        console.print(f"{name}: {', '.join(applied) or 'up to date'}")


@app.command()
def dev(workdir: Path = typer.Option(Path(".wijkbus"), help="where data and logs live")) -> None:
    """Start broker, database and the four services; Ctrl-C stops everything (`make run`)."""
    configure_logging("wijkbus", "console", level=logging.WARNING)
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    console.print("[bold]wijkbus[/]: starting broker and database…")
    backend = start_backend(datadir=workdir, keep_data=True)
    stack = None
    try:
        creds = devstack.DemoCredentials.load_or_create(workdir / "secrets.json")
        partners = devstack.write_partner_registry(workdir / "partners.yaml", creds)
        operators = demo_operators.write_operator_registry(
            workdir / "operators.yaml", creds.operator_passwords
        )
        for name, applied in run(_migrate_all(backend.database_url)).items():
            console.print(f"  migrations {name}: {', '.join(applied) or 'up to date'}")
        stack = devstack.ServiceProcesses(
            workdir, backend.bootstrap, backend.database_url, creds, partners,
            operators_file=operators,
        )  # fmt: skip
        stack.start_all()
        stack.wait_ready()
        (workdir / "stack.json").write_text(json.dumps(stack.describe(), indent=2))
        _seed_budget_demo(stack, workdir)
        _seed_wijkhub_demo(stack)
        _subscribe_initiators(stack)
        _print_stack(stack, backend.description, workdir)
        _wait_for_stop(Supervisor(stack, backend.broker, _say))
    finally:
        console.print("stopping…")
        if stack is not None:
            stack.stop_all()
        backend.stop()
        console.print("stopped; data kept in " + str(workdir))


def _say(line: str) -> None:
    console.print(f"[yellow]supervisor:[/] {line}", soft_wrap=True)


def _seed_budget_demo(stack: devstack.ServiceProcesses, workdir: Path) -> None:
    from services.budget import demo
    from wijkbus.vault import Vault

    vault = Vault.from_setting(stack.creds.budget_vault_key)
    folder = run(
        demo.seed(
            stack.database_url,
            stack.url("budget"),
            stack.creds.operator_token,
            workdir / "letters",
            vault,
        )
    )
    if folder is not None:
        console.print(f"  buurtbudget demo: {demo.MUNICIPALITY} {demo.BUURT}, letters in {folder}")


def _seed_wijkhub_demo(stack: devstack.ServiceProcesses) -> None:
    """A De Hoogte street over its wijkhub threshold (tools.wijkhub_demo), once."""
    import httpx

    from tools import wijkhub_demo

    partner = next(p for p in devstack.DEMO_PARTNERS if p["id"] == wijkhub_demo.PARTNER)
    key = {"Authorization": f"Bearer {stack.creds.api_keys[partner['id']]}"}
    operator = {"Authorization": f"Bearer {stack.creds.operator_token}"}
    with (
        httpx.Client(base_url=stack.url("intake"), headers=key, timeout=30) as intake,
        httpx.Client(base_url=stack.url("routing"), headers=operator, timeout=30) as routing,
    ):
        street = wijkhub_demo.seed(intake, routing, partner["source"])
    if street is not None:
        console.print(
            f"  wijkhub demo: {street} (De Hoogte) heeft advies wijkhub — open "
            f"{stack.url('routing')}/dashboard"
        )


def _subscribe_initiators(stack: devstack.ServiceProcesses) -> None:
    """Initiators hear by e-mail when their initiative is funded: one operator subscription."""
    import httpx

    from contracts.events import INITIATIVE_FUNDED_TYPE

    auth = {"Authorization": f"Bearer {stack.creds.operator_token}"}
    with httpx.Client(base_url=stack.url("notify"), headers=auth, timeout=30) as http:
        if any(s["channel"] == "initiator" for s in http.get("/api/v1/subscriptions").json()):
            return
        answer = http.post(
            "/api/v1/subscriptions",
            json={"channel": "initiator", "types": [INITIATIVE_FUNDED_TYPE]},
        )
        answer.raise_for_status()
    console.print("  notify: initiators are mailed when their initiative is funded")


def _print_stack(stack: devstack.ServiceProcesses, backend: str, workdir: Path) -> None:
    console.print("[bold green]wijkbus is running[/]")
    for name in devstack.SERVICES:
        base = stack.url(name)
        console.print(
            f"  {name:<8} dashboard {base}/dashboard   API {base}/api/v1/docs", soft_wrap=True
        )
    console.print(f"backend:         {backend}", soft_wrap=True)
    console.print(f"broker:          {stack.bootstrap}")
    console.print(f"database:        {stack.database_url}", soft_wrap=True)
    for login in demo_operators.logins(stack.creds.operator_passwords):
        console.print(
            f"operator login:  {login['role']:<15} naam [bold]{login['name']}[/]"
            f"  wachtwoord [bold]{login['password']}[/]",
            soft_wrap=True,
        )
    console.print(
        f"operator token:  [bold]{stack.creds.operator_token}[/] (API clients: Bearer, as a"
        " beheerder)",
        soft_wrap=True,
    )
    console.print(
        f"demo partners:   {workdir / 'stack.json'} (API keys, signing secrets)", soft_wrap=True
    )
    console.print(
        f"buurtbudget:     resident page {stack.url('budget')}/buurt, with a code from a letter"
        f" in {workdir / 'letters'}",
        soft_wrap=True,
    )
    console.print(
        f"mail:            {stack.mail.folder} (SMTP 127.0.0.1:{stack.mail.port})", soft_wrap=True
    )
    console.print(f"logs:            {workdir / 'logs'}", soft_wrap=True)
    console.print("Ctrl-C stops everything.")


def _wait_for_stop(supervisor: Supervisor) -> None:
    """Until Ctrl-C (or SIGTERM): the supervisor restarts what exits, and says so."""
    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stopping:
        supervisor.tick()
        time.sleep(0.5)


def main() -> None:
    """Entry point of the `wijkbus` command."""
    _default_to_running_stack(sys.argv[1:2])
    _database_tls_into_url()
    app()


def _database_tls_into_url() -> None:
    """DATABASE_SSLMODE and DATABASE_SSLROOTCERT reach every command that reads DATABASE_URL."""
    if url := os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = with_tls(url, DatabaseTls())


def _default_to_running_stack(command: list[str]) -> None:
    """Tools (erase, budget, audit, ...) use the `make run` stack unless told otherwise.

    Not for `dev` itself: there, DATABASE_URL means "use this server instead of your own".
    """
    stack_file = Path(".wijkbus/stack.json")
    if command == ["dev"] or not stack_file.exists():
        return
    stack = json.loads(stack_file.read_text())
    os.environ.setdefault("DATABASE_URL", stack["database_url"])
    os.environ.setdefault("KAFKA_BOOTSTRAP_SERVERS", stack["broker"])
    if stack.get("partners_file"):  # `wijkbus replay` needs the registry the stack runs with
        os.environ.setdefault("WIJKBUS_PARTNERS", stack["partners_file"])
    if stack.get("budget_vault_key"):  # `wijkbus budget` seals and opens addresses with it
        os.environ.setdefault("BUDGET_VAULT_KEY", stack["budget_vault_key"])


def _register_subcommands() -> None:
    from tools import partner_cli

    app.add_typer(partner_cli.app, name="partner")

    from services.budget import cli as budget_cli

    app.add_typer(budget_cli.app, name="budget")

    from tools import audit

    app.add_typer(audit.audit, name="audit")

    from tools import replay

    app.command()(replay.replay)

    from tools import report

    app.add_typer(report.report, name="report")

    from tools import kafka_acls

    app.command("kafka-acls")(kafka_acls.kafka_acls)

    from tools import operator_cli

    app.add_typer(operator_cli.app, name="operator")


_register_subcommands()
