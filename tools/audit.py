"""`wijkbus audit ...`: intake's tamper evidence, and one signal's trail across the services."""

from __future__ import annotations

from enum import StrEnum

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from services.intake import audit_cli
from tools import audit_trail
from wijkbus.cli_run import run

console = Console()
audit = typer.Typer(
    help="Tamper evidence over intake's event log; one signal's trail.", no_args_is_help=True
)
# Intake's own commands (verify, checkpoint) read only its schema and stay with intake; the trail
# reads routing's and notify's schemas too, so it lives up here, above the services.
audit.add_typer(audit_cli.audit)


class TrailFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"


async def _trail(database_url: str, signal_id: str) -> list[audit_trail.Step]:
    conn = await asyncpg.connect(database_url)
    try:
        return await audit_trail.trail(conn, signal_id)
    finally:
        await conn.close()


@audit.command()
def trail(
    signal_id: str = typer.Argument(..., help="the signal id (from the receipt)"),
    output: TrailFormat = typer.Option(TrailFormat.table, "--format"),
    database_url: str = audit_cli.DATABASE_URL,
) -> None:
    """Every event about one signal across the services, in order; no personal data."""
    steps = run(_trail(database_url, signal_id))
    if not steps:
        console.print(f"[red]no service knows signal {signal_id}[/]")
        raise typer.Exit(1)
    if output is TrailFormat.json:
        print(audit_trail.to_json(signal_id, steps))
    elif output is TrailFormat.html:
        print(audit_trail.to_html(signal_id, steps))
    else:
        table = Table(title=f"Spoor van melding {signal_id}")
        for column in ("tijd (UTC)", "dienst", "wat", "details"):
            table.add_column(column, overflow="fold")
        for row in audit_trail.as_rows(steps):
            table.add_row(*row)
        console.print(table)
