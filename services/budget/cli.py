"""`wijkbus budget ...`: load real pabulib elections as rounds and decide them."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from services.budget import store
from services.budget.domain import Outcome, UnknownRuleError, decide
from services.budget.pabulib import PabulibError, parse_text, to_election
from wijkbus import db

HERE = Path(__file__).parent
SCHEMA = "budget"

app = typer.Typer(help="The buurtbudget: participatory-budgeting rounds.", no_args_is_help=True)
console = Console()
DATABASE_URL = typer.Option(..., "--database-url", envvar="DATABASE_URL", show_default=False)


def round_from_pb(path: Path, round_id: str | None = None) -> store.RoundImport:
    """Read a `.pb` file as a round to import (its id defaults to `pb:<file name>`)."""
    raw = path.read_bytes()
    pb = parse_text(raw.decode("utf-8-sig"))
    return store.RoundImport(
        round_id=round_id or f"pb:{path.stem}",
        title=pb.meta.get("description", path.stem),
        rule=pb.rule,
        vote_type=pb.vote_type,
        currency=pb.meta.get("currency", "EUR"),
        min_length=pb.min_length,
        max_length=pb.max_length,
        max_sum_cost=pb.max_sum_cost,
        source=path.name,
        source_sha256=hashlib.sha256(raw).hexdigest(),
        meta=pb.meta,
        titles={p.project_id: p.name for p in pb.projects},
        voter_ids=tuple(v.voter_id for v in pb.votes),
        election=to_election(pb),
    )


async def _connect(database_url: str) -> asyncpg.Connection:
    await db.migrate_url(database_url, SCHEMA, HERE / "migrations")
    conn: asyncpg.Connection = await asyncpg.connect(
        database_url, server_settings={"search_path": SCHEMA}
    )
    return conn


async def import_pb_file(
    database_url: str, path: Path, round_id: str | None
) -> tuple[str, store.ImportResult]:
    """Import a `.pb` file as a round (idempotent); return the round id and what happened."""
    round_ = round_from_pb(path, round_id)
    conn = await _connect(database_url)
    try:
        return round_.round_id, await store.import_round(conn, round_)
    finally:
        await conn.close()


async def decide_round(database_url: str, round_id: str, rule: str | None) -> Outcome:
    """Decide a stored round with its own rule (or `rule`) and store the outcome."""
    conn = await _connect(database_url)
    try:
        own_rule, election = await store.load_round(conn, round_id)
        outcome = decide(election, rule or own_rule)
        await store.save_outcome(conn, round_id, outcome)
        return outcome
    finally:
        await conn.close()


@app.command("import-pb")
def import_pb(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="a pabulib .pb file"),
    round_id: str | None = typer.Option(None, help="the round's id (default: pb:<file name>)"),
    database_url: str = DATABASE_URL,
) -> None:
    """Load a real pabulib election as a round (projects and ballots); re-runs change nothing."""
    try:
        rid, result = asyncio.run(import_pb_file(database_url, file, round_id))
    except (PabulibError, store.RoundConflictError) as exc:
        console.print(f"[red]not imported:[/] {exc}")
        raise typer.Exit(1) from exc
    what = "imported" if result.created else "already imported, nothing changed"
    console.print(f"{rid}: {what} ({result.projects} projects, {result.ballots} ballots)")


@app.command("decide")
def decide_command(
    round_id: str = typer.Argument(..., help="the round's id, e.g. pb:Netherlands_Assen_2024"),
    rule: str | None = typer.Option(
        None, help="override the round's rule (greedy, equalshares/add1)"
    ),
    database_url: str = DATABASE_URL,
) -> None:
    """Compute a round's winners, store them with each project's votes and why it won or lost."""
    try:
        outcome = asyncio.run(decide_round(database_url, round_id, rule))
    except (store.UnknownRoundError, UnknownRuleError) as exc:
        console.print(f"[red]not decided:[/] {exc}")
        raise typer.Exit(1) from exc
    table = Table(title=f"{round_id} — {outcome.rule}, besteed {outcome.spent}")
    for column in ("project", "kosten", "stemmen", "uitslag"):
        table.add_column(column)
    for r in outcome.results:
        table.add_row(r.project_id, str(r.cost), str(r.votes), r.reason)
    console.print(table)
    console.print(f"winnaars: {', '.join(outcome.selected) or 'geen'}")
