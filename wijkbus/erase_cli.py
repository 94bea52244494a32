"""`wijkbus erase`: crypto-shred a data subject's personal data in intake's vault."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import typer
from rich.console import Console

from wijkbus import vault
from wijkbus.cli_run import run

console = Console()
INTAKE_SCHEMA = "intake"


async def erase_subject(
    database_url: str, *, subject: str | None, signal: str | None, by: str
) -> tuple[str | None, int]:
    """Erase the subject (given, or found by one of its signals); -1 persons: unknown subject."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": INTAKE_SCHEMA})
    try:
        ref = subject or await vault.subject_of_signal(conn, signal or "")
        if ref is None:
            return None, -1
        return ref, await vault.erase_subject(conn, ref, by, datetime.now(UTC))
    finally:
        await conn.close()


def erase(
    subject: str | None = typer.Option(None, "--subject", help="the subject_ref to erase"),
    signal: str | None = typer.Option(
        None, "--signal", help="or: erase the subject of this signal id"
    ),
    by: str = typer.Option(..., "--by", help="who erases, and on whose request (recorded)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
    database_url: str = typer.Option(..., envvar="DATABASE_URL"),
) -> None:
    """Delete a data subject's key: none of its sealed personal data can be read again."""
    if bool(subject) == bool(signal):
        raise typer.BadParameter("give exactly one of --subject and --signal")
    who = f"subject {subject}" if subject else f"the subject of signal {signal}"
    if not yes:
        typer.confirm(
            f"Erase {who}? Its personal data becomes unreadable for good; this cannot be undone",
            abort=True,
        )
    try:
        ref, persons = run(erase_subject(database_url, subject=subject, signal=signal, by=by))
    except vault.AlreadyErasedError as exc:
        earlier = f" by {exc.erased_by}" if exc.erased_by else ""
        console.print(
            f"{exc.subject_ref}: already erased on {exc.erased_at:%Y-%m-%d %H:%M:%S %Z}{earlier};"
            " nothing changed"
        )
        return
    if persons < 0:
        console.print("[red]no such subject in the vault[/] (nothing erased)")
        raise typer.Exit(1)
    console.print(f"erased {ref}: its key is destroyed, {persons} sealed person(s) unreadable")
