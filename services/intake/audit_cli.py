"""`wijkbus audit ...` and `wijkbus replay --republish`: intake's event log for auditors."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import typer
from rich.console import Console

from services.intake import ledger
from wijkbus.cli_run import run

SCHEMA = "intake"
console = Console()
audit = typer.Typer(help="Tamper evidence over intake's event log.", no_args_is_help=True)
DATABASE_URL = typer.Option(..., "--database-url", envvar="DATABASE_URL", show_default=False)


async def _connect(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url, server_settings={"search_path": SCHEMA})


async def _verify(
    database_url: str, checkpoint: ledger.Checkpoint | None
) -> tuple[ledger.Verification, str]:
    conn = await _connect(database_url)
    try:
        result = await ledger.verify(conn)
        problem = ""
        if checkpoint is not None:
            problem = await ledger.check_checkpoint(conn, checkpoint) or ""
        return result, problem
    finally:
        await conn.close()


@audit.command()
def verify(
    database_url: str = DATABASE_URL,
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", exists=True, dir_okay=False, help="also check this signed checkpoint"
    ),
) -> None:
    """Walk the hash chain of intake's event log; name the first broken row."""
    signed = ledger.Checkpoint.from_json(checkpoint.read_text()) if checkpoint else None
    result, problem = run(_verify(database_url, signed))
    if not result.intact:
        where = f" (event_log.seq {result.broken_seq})" if result.broken_seq is not None else ""
        console.print(
            f"[red]BROKEN[/] at chain row {result.broken_position}{where}: {result.problem};"
            f" the {result.sealed} rows before it hold"
        )
        raise typer.Exit(1)
    console.print(
        f"intact: {result.sealed} sealed rows, head {result.head_position} {result.head_hash}"
        + (f"; {result.unsealed} not sealed yet" if result.unsealed else "")
    )
    if problem:
        console.print(f"[red]CHECKPOINT REFUSED[/]: {problem}")
        raise typer.Exit(1)
    if checkpoint is not None:
        console.print("checkpoint holds: signed by its key, and its head is still in the chain")


@audit.command("checkpoint")
def export_checkpoint(
    key: Path = typer.Option(..., "--key", help="Ed25519 private key (PEM); created if absent"),
    out: Path | None = typer.Option(None, "--out", help="write the checkpoint here (JSON)"),
    database_url: str = DATABASE_URL,
) -> None:
    """Verify the chain, then sign its head: a checkpoint to keep outside the system."""
    result, _ = run(_verify(database_url, None))
    if not result.intact:
        console.print(f"[red]no checkpoint: the chain breaks at row {result.broken_position}[/]")
        raise typer.Exit(1)
    signed = ledger.sign_checkpoint(result, ledger.load_or_create_key(key))
    if out is None:
        console.print_json(signed.to_json())
    else:
        out.write_text(signed.to_json() + "\n")
        console.print(f"checkpoint of {signed.position} rows written to {out}")
