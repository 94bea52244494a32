"""`wijkbus audit ...` and `wijkbus replay --republish`: intake's event log for auditors."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import typer
from rich.console import Console

from services.intake import ledger, ledger_verify
from services.intake.ledger_acts import LedgerKey
from wijkbus.cli_run import run

SCHEMA = "intake"
console = Console()
audit = typer.Typer(help="Tamper evidence over intake's event log.", no_args_is_help=True)
DATABASE_URL = typer.Option(..., "--database-url", envvar="DATABASE_URL", show_default=False)


async def _connect(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url, server_settings={"search_path": SCHEMA})


async def _verify(
    database_url: str,
    checkpoint: ledger.Checkpoint | None,
    trusted: list[str] | None = None,
    max_age: timedelta | None = None,
) -> tuple[ledger_verify.Verification, str]:
    conn = await _connect(database_url)
    try:
        result = await ledger_verify.verify(conn, trusted, datetime.now(UTC), max_age)
        problem = ""
        if checkpoint is not None:
            problem = await ledger.check_checkpoint(conn, checkpoint) or ""
        return result, problem
    finally:
        await conn.close()


def _trusted(public_keys: list[str]) -> list[str] | None:
    """The ledger keys to trust: those given, else the public half of INTAKE_LEDGER_KEY."""
    if public_keys:
        return public_keys
    if own := os.environ.get("INTAKE_LEDGER_KEY"):
        return [LedgerKey.from_setting(own).public]
    return None


@audit.command()
def verify(
    database_url: str = DATABASE_URL,
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", exists=True, dir_okay=False, help="also check this signed checkpoint"
    ),
    public_key: list[str] = typer.Option(
        [],
        "--public-key",
        envvar="INTAKE_LEDGER_PUBLIC_KEY",
        help="a trusted ledger public key (base64); default: that of INTAKE_LEDGER_KEY",
    ),
    max_checkpoint_age: float = typer.Option(
        900.0,
        "--max-checkpoint-age",
        envvar="INTAKE_MAX_CHECKPOINT_AGE_S",
        help="seconds the newest automatic checkpoint may be old (0: not checked)",
    ),
) -> None:
    """Check intake's ledger acts and walk its hash chain; name the first broken act or row."""
    signed = ledger.Checkpoint.from_json(checkpoint.read_text()) if checkpoint else None
    trusted = _trusted(public_key)
    max_age = timedelta(seconds=max_checkpoint_age) if max_checkpoint_age > 0 else None
    result, problem = run(
        _verify(database_url, signed, trusted, max_age), doing="walking the hash chain"
    )
    if not result.intact:
        console.print(f"[red]BROKEN[/] {_where(result)}: {result.problem}; {_held(result)}")
        raise typer.Exit(1)
    console.print(
        f"intact: {result.sealed} sealed rows, head {result.head_position} {result.head_hash}"
        + (f"; {result.unsealed} not sealed yet" if result.unsealed else "")
    )
    console.print(_acts_line(result, trusted))
    console.print(
        "trails intact: "
        + ", ".join(
            f"{t.table} {t.sealed} rows" + (f" ({t.unsealed} not sealed yet)" if t.unsealed else "")
            for t in result.trails
        )
    )
    if problem:
        console.print(f"[red]CHECKPOINT REFUSED[/]: {problem}")
        raise typer.Exit(1)
    if checkpoint is not None:
        console.print("checkpoint holds: signed by its key, and its head is still in the chain")


def _where(result: ledger_verify.Verification) -> str:
    if result.broken_trail is not None:
        return f"at {result.broken_trail} chain row {result.broken_position}"
    if result.broken_position is not None:
        seq = f" (event_log.seq {result.broken_seq})" if result.broken_seq is not None else ""
        return f"at chain row {result.broken_position}{seq}"
    if result.broken_act is not None:
        return f"at ledger act {result.broken_act}"
    return "at the chain's end"


def _held(result: ledger_verify.Verification) -> str:
    if result.broken_trail is not None:
        before = result.trails[-1].sealed
        trail = result.broken_trail
        return f"the event log's {result.sealed} rows hold, and the {before} {trail} rows before it"
    if result.broken_position is not None:
        return f"the {result.sealed} rows before it hold"
    if result.broken_act is not None and result.sealed == 0 and result.acts == 0:
        return "the chain was not walked"
    return f"the chain's {result.sealed} rows hold"


def _acts_line(result: ledger_verify.Verification, trusted: list[str] | None) -> str:
    v1 = (
        f"rows 1-{result.v1_rows} under hash v1 (from before the cut-over: their signal_id is"
        " not under the hash); "
        if result.v1_rows
        else ""
    )
    newest = result.newest_checkpoint or "none yet"
    line = f"{v1}{result.acts} ledger acts, {result.checkpoints} checkpoints, newest {newest}"
    if not result.cutover_signed:
        line += "; the cut-over is not signed yet (intake has not started since migration 0005)"
    if trusted is None:
        line += (
            "; [yellow]signatures checked against the keys beside them, not a trusted key[/]:"
            " pass --public-key (or INTAKE_LEDGER_PUBLIC_KEY) to rule out a forger with database"
            " access"
        )
    return line


@audit.command("checkpoint")
def export_checkpoint(
    key: Path = typer.Option(..., "--key", help="Ed25519 private key (PEM); created if absent"),
    out: Path | None = typer.Option(None, "--out", help="write the checkpoint here (JSON)"),
    database_url: str = DATABASE_URL,
) -> None:
    """Verify the chain, then sign its head: a checkpoint to keep outside the system."""
    result, _ = run(_verify(database_url, None), doing="walking the hash chain")
    if not result.intact:
        where = (
            f"row {result.broken_position}"
            if result.broken_position is not None and result.broken_trail is None
            else _where(result).removeprefix("at ")
        )
        console.print(f"[red]no checkpoint: the chain breaks at {where}[/]: {result.problem}")
        raise typer.Exit(1)
    signed = ledger.sign_checkpoint(result, ledger.load_or_create_key(key))
    if out is None:
        console.print_json(signed.to_json())
    else:
        out.write_text(signed.to_json() + "\n")
        console.print(f"checkpoint of {signed.position} rows written to {out}")
