"""`wijkbus budget ...`: households, years, voting codes, and pabulib rounds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from services.budget import addresses, closing, register, round_store
from services.budget.app import euro
from services.budget.domain import UnknownRuleError, UnsupportedRuleError
from services.budget.domain.households import RegisterChanges, RegisterError, parse_register
from services.budget.handlers import Budget
from services.budget.letter_pdf import LetterTooLongError
from services.budget.letters import Written, write_all
from services.budget.pabulib import PabulibError
from services.budget.pb_rounds import breaches_text, connect, decide_round, import_pb_file
from wijkbus.cli_run import run
from wijkbus.vault import Vault

T = TypeVar("T")

app = typer.Typer(
    help="The buurtbudget: households, years, codes and pabulib rounds.", no_args_is_help=True
)
console = Console()
DATABASE_URL = typer.Option(..., "--database-url", envvar="DATABASE_URL", show_default=False)


@app.command("import-pb")
def import_pb(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="a pabulib .pb file"),
    round_id: str | None = typer.Option(None, help="the round's id (default: pb:<file name>)"),
    leftover_within_caps: str | None = typer.Option(
        None, help="yes/no: do the budget_per_* caps bind leftover funding (else: the comment)"
    ),
    accept_breaches: bool = typer.Option(
        False, "--accept-breaches", help="import ballots that break the file's own META bounds"
    ),
    database_url: str = DATABASE_URL,
) -> None:
    """Load a real pabulib election as a round (projects and ballots); re-runs change nothing."""
    if leftover_within_caps not in (None, "yes", "no"):
        console.print("[red]not imported:[/] --leftover-within-caps is yes or no")
        raise typer.Exit(1)
    within = None if leftover_within_caps is None else leftover_within_caps == "yes"
    try:
        rid, result, broken = run(import_pb_file(database_url, file, round_id,
            leftover_within_caps=within, accept_breaches=accept_breaches),
            doing=f"importing {file.name}")  # fmt: skip
    except (PabulibError, round_store.RoundConflictError) as exc:
        console.print(f"[red]not imported:[/] {exc}")
        raise typer.Exit(1) from exc
    what = "imported" if result.created else "already imported, nothing changed"
    console.print(f"{rid}: {what} ({result.projects} projects, {result.ballots} ballots)")
    if broken:
        console.print(f"[yellow]accepted breaches of META bounds:[/] {breaches_text(broken)}")


@app.command("decide")
def decide_command(
    round_id: str = typer.Argument(..., help="the round's id, e.g. pb:Netherlands_Assen_2024"),
    rule: str | None = typer.Option(
        None, help="what if the round ran under this rule (greedy, equalshares/add1)?"
    ),
    replace: bool = typer.Option(
        False, "--save", "--replace", help="store the --rule outcome in place of the round's own"
    ),
    database_url: str = DATABASE_URL,
) -> None:
    """Compute a round's winners, store them with each project's votes and why it won or lost."""
    try:
        decision = run(decide_round(database_url, round_id, rule, replace=replace),
                       doing=f"deciding {round_id}")  # fmt: skip
    except (round_store.UnknownRoundError, UnknownRuleError, UnsupportedRuleError) as exc:
        console.print(f"[red]not decided:[/] {exc}")
        raise typer.Exit(1) from exc
    outcome = decision.outcome
    table = Table(title=f"{round_id} — {outcome.rule}, besteed {euro(outcome.spent * 100)}")
    for column in ("project", "naam", "kosten", "stemmen", "uitslag"):
        table.add_column(column, justify="right" if column in ("kosten", "stemmen") else "left")
    for r in outcome.results:
        title = decision.titles.get(r.project_id, "")
        table.add_row(r.project_id, title, euro(r.cost * 100), str(r.votes), r.reason)
    console.print(table)
    winners = [f"{decision.titles.get(p) or p} ({p})" for p in outcome.selected]
    console.print(f"winnaars: {', '.join(winners) or 'geen'}")
    if outcome.partial:
        p = outcome.partial.project_id
        console.print(f"gedeeltelijk gefinancierd: {decision.titles.get(p) or p} ({p}) krijgt "
                      f"{euro(outcome.partial.amount * 100)} uit het restbudget")  # fmt: skip
    if outcome.tie:
        console.print("gelijke stand: de laatste plaats ging bij gelijke stand naar het "
                      "kleinste project-id (als tekst), zoals pabutools")  # fmt: skip
    if decision.stored:
        console.print("opgeslagen: dit is nu de uitslag van de ronde")
    else:
        console.print(
            f"[yellow]niet opgeslagen:[/] een what-if met --rule {rule}; de opgeslagen uitslag "
            "blijft staan (--save slaat deze op in plaats daarvan)"
        )


def _now() -> datetime:
    return datetime.now(UTC)


async def import_households_file(
    database_url: str, path: Path, municipality: str
) -> RegisterChanges:
    """Import a household register CSV for a municipality (idempotent); return what changed."""
    text = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
    incoming = parse_register(text)
    conn = await connect(database_url)
    try:
        return await register.import_households(
            conn, municipality, incoming, _now(), addresses.vault_from_env()
        )
    finally:
        await conn.close()


@app.command("import-households")
def import_households(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="the register CSV"),
    municipality: str = typer.Option(..., help="the municipality the register belongs to"),
    database_url: str = DATABASE_URL,
) -> None:
    """Load the household register (one household per address); re-runs report what changed.

    Columns: address_id, postcode, house_number, buurt_code; for the letters also street and
    city (sealed under BUDGET_VAULT_KEY, which must then be set) and buurt_name.
    """
    try:
        changes = run(import_households_file(database_url, file, municipality),
                      doing=f"importing {file.name}")  # fmt: skip
    except RegisterError as exc:
        for error in exc.errors:
            console.print(f"[red]not imported:[/] {error}")
        raise typer.Exit(1) from exc
    except addresses.AddressError as exc:
        console.print(f"[red]not imported:[/] {exc}")
        raise typer.Exit(1) from exc
    console.print(
        f"{municipality}: added {len(changes.added)}, changed {len(changes.changed)}, "
        f"removed {len(changes.removed)}, unchanged {changes.unchanged}"
    )


async def _with_conn(database_url: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    conn = await connect(database_url)
    try:
        return await work(conn)
    finally:
        await conn.close()


@app.command("open-year")
def open_year(
    year: int = typer.Option(..., help="the year, e.g. 2027"),
    municipality: str = typer.Option(...),
    allowance_cents: int | None = typer.Option(None, min=0, help="per household (default 1000)"),
    rule: str | None = typer.Option(None, help="pledge, majority or vote"),
    database_url: str = DATABASE_URL,
) -> None:
    """Open a buurtbudget year with the municipality's allowance and funding rule."""
    if rule is not None and rule not in ("pledge", "majority", "vote"):
        console.print(f"[red]unknown rule {rule!r}[/]: pledge, majority or vote")
        raise typer.Exit(1)
    try:
        y = run(_with_conn(database_url, lambda c: register.open_year(
            c, municipality, year, allowance_cents, rule)))  # fmt: skip
    except register.YearError as exc:
        console.print(f"[red]not opened:[/] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"{y.municipality} {y.year} open: {y.allowance_cents} cents per household, "
                  f"rule {y.funding_rule}")  # fmt: skip


@app.command("close-year")
def close_year(
    year: int = typer.Option(...),
    municipality: str = typer.Option(...),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
    database_url: str = DATABASE_URL,
) -> None:
    """Close a year: settle its initiatives (funded or not) and let unspent allowances lapse."""
    if not yes:
        typer.confirm(
            f"Close {municipality} {year}? Open initiatives are settled and unspent allowances"
            " lapse; this cannot be undone",
            abort=True,
        )
    core = Budget(clock=_now, vault=Vault.ephemeral(), pseudonym_key=None)
    try:
        account = run(
            _with_conn(database_url, lambda c: closing.close_year(core, c, municipality, year))
        )
    except register.YearError as exc:
        console.print(f"[red]not closed:[/] {exc}")
        raise typer.Exit(1) from exc
    console.print(
        f"{municipality} {year} closed: {account.households} households, "
        f"total {account.total_cents} cents, spent {account.spent_cents}, "
        f"lapsed {account.lapsed_cents}"
    )


@app.command("issue-codes")
def issue_codes(
    year: int = typer.Option(...),
    buurt: str = typer.Option(..., help="the buurt code, e.g. BU00140107"),
    out: Path = typer.Option(..., file_okay=False, help="directory for the printable letters"),
    municipality: str = typer.Option(...),
    site_url: str = typer.Option("https://buurtbudget.example.nl/buurt", help="resident page"),
    database_url: str = DATABASE_URL,
) -> None:
    """One code per household of the buurt (stored only as a hash), a letter to print each and
    one PDF of them all (A4, a letter a page).

    The codes appear nowhere but in the letters: not on screen, not in logs. Sealed addresses
    are opened with BUDGET_VAULT_KEY.
    """

    async def issue(conn: asyncpg.Connection) -> tuple[Written, int]:
        allowance = (await register.get_year(conn, municipality, year)).allowance_cents
        written: list[Written] = []

        def deliver(letters: list[register.Letter]) -> None:
            written.append(write_all(letters, out, municipality=municipality, year=year,
                                     allowance_cents=allowance, site_url=site_url))  # fmt: skip

        vault = addresses.vault_from_env()
        _, skipped = await register.issue_codes(
            conn, municipality, year, buurt.upper(), vault, deliver
        )
        return written[0], skipped

    try:
        written, skipped = run(_with_conn(database_url, issue), doing="writing the letters")
    except (register.YearError, addresses.AddressError, LetterTooLongError) as exc:
        console.print(f"[red]no codes issued:[/] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"{buurt} {year}: {len(written.letters)} letters written to {out}; "
                  f"{skipped} households already had a code")  # fmt: skip
    for pdf in written.pdfs:
        console.print(f"all {len(written.letters)} in one PDF to print: {pdf.name}")
