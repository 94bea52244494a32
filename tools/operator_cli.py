"""`wijkbus operator`: a password hash for the operator registry, and what operators did."""

from __future__ import annotations

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from wijkbus import operator_audit
from wijkbus.cli_run import run
from wijkbus.db import checked_schema
from wijkbus.operators import hash_password

app = typer.Typer(help="Operator accounts: password hashes and the audit of their writes.")
console = Console()
SERVICES = ("intake", "routing", "budget", "notify")


@app.command("hash-password")
def hash_password_command() -> None:
    """Ask for a password (twice, not echoed) and print its `password_scrypt` for the registry."""
    password = typer.prompt("Wachtwoord", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise typer.BadParameter("a password of at least 12 characters, please")
    typer.echo(hash_password(password))


@app.command()
def actions(
    service: str = typer.Argument(..., help="intake, routing, budget or notify"),
    name: str | None = typer.Option(None, "--name", help="only this operator's"),
    database_url: str = typer.Option(..., envvar="DATABASE_URL"),
) -> None:
    """The operators' writes (and logins, logouts) one service recorded, oldest first."""
    if service not in SERVICES:
        raise typer.BadParameter(f"one of {', '.join(SERVICES)}")
    rows = run(_actions(database_url, service, name))
    table = Table("wanneer", "operator", "rol", "actie", "waarop", "status")
    for r in rows:
        table.add_row(f"{r['at']:%Y-%m-%d %H:%M:%S}", r["operator"], r["role"], r["action"],
                      r["target"], str(r["status"]))  # fmt: skip
    console.print(table)


async def _actions(database_url: str, service: str, name: str | None) -> list[asyncpg.Record]:
    schema = {"search_path": checked_schema(service)}
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1, server_settings=schema)
    try:
        return await operator_audit.actions(pool, name)
    finally:
        await pool.close()
