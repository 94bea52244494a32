"""`wijkbus replay`: rebuild a projection from the streams, or republish after broker loss."""

from __future__ import annotations

import importlib
import uuid
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from wijkbus.cli_run import run
from wijkbus.gc_policy import collect_less
from wijkbus.partners import PartnerRegistryError, load_partners
from wijkbus.replaying import ReplayStalled

console = Console()
# Each module rebuilds its service's projection into a scratch schema (`rebuild`) and compares it
# with the live schema (`compare`); see wijkbus.replaying.
REPLAYABLE = {
    "intake": "services.intake.replay",
    "routing": "services.routing.replay",
    "budget": "services.budget.replay",
    "notify": "services.notify.replay",
}


def replay(
    service: str | None = typer.Argument(
        None, help=f"the service whose projection to rebuild ({', '.join(REPLAYABLE)})"
    ),
    republish: bool = typer.Option(
        False,
        "--republish",
        help="instead: send every service's log (or SERVICE's) again",
    ),
    since: int = typer.Option(0, "--since", help="--republish: only log rows after this id"),
    into: str | None = typer.Option(
        None, "--into", help="the scratch schema to rebuild into (default: a new one)"
    ),
    until: datetime | None = typer.Option(
        None, "--until", help="rebuild the state as it was at this moment (ISO 8601, with offset)"
    ),
    partners_file: Path | None = typer.Option(
        None, "--partners", envvar="WIJKBUS_PARTNERS", help="the partner registry (YAML)"
    ),
    database_url: str = typer.Option(
        ..., "--database-url", envvar="DATABASE_URL", show_default=False
    ),
    bootstrap: str = typer.Option(
        ..., "--bootstrap-servers", envvar="KAFKA_BOOTSTRAP_SERVERS", show_default=False
    ),
) -> None:
    """Rebuild SERVICE's projection from its input into a scratch schema and compare it with
    the live one; or, with --republish, re-send every service's log (or SERVICE's) after the
    broker lost its data (the events keep their ids, so consumers de-duplicate and converge)."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    if republish:
        from wijkbus.republish import republish_services

        chosen = [service] if service else list(REPLAYABLE)
        if service is not None and service not in REPLAYABLE:
            raise typer.BadParameter(f"give one of {', '.join(REPLAYABLE)}", param_hint="SERVICE")
        sent = run(republish_services(database_url, bootstrap, chosen, since), doing="republishing")
        for name, count in sent.items():
            console.print(f"{name}: republished {count} events from its log (after id {since})")
        console.print(f"republished {sum(sent.values())} events")
        return
    if service not in REPLAYABLE:
        raise typer.BadParameter(
            f"give one of {', '.join(REPLAYABLE)}, or --republish", param_hint="SERVICE"
        )
    if until is not None and until.tzinfo is None:
        raise typer.BadParameter("give the moment with its UTC offset", param_hint="--until")
    if partners_file is None:
        raise typer.BadParameter("the partner registry is needed", param_hint="--partners")
    module = importlib.import_module(REPLAYABLE[service])
    try:
        partners = tuple(p.id for p in load_partners(partners_file, with_secrets=False))
    except PartnerRegistryError as exc:
        raise typer.BadParameter(str(exc), param_hint="--partners") from None
    schema = into or f"{service}_replay_{uuid.uuid4().hex[:8]}"
    collect_less()
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"replaying into {schema}", total=None)
            done = run(
                module.rebuild(
                    database_url,
                    bootstrap,
                    schema,
                    partners=partners,
                    until=until,
                    progress=lambda read, total: progress.update(task, completed=read, total=total),
                )
            )
    except (ValueError, ReplayStalled) as exc:
        console.print(f"[red]no replay:[/] {exc}")
        raise typer.Exit(2) from None
    console.print(
        f"rebuilt {schema}: {done.read} records read, {done.handled} handled,"
        f" {done.duplicates} duplicates skipped, {done.after_until} after --until left out"
    )
    for reason in done.refused:
        console.print(f"  refused (as live would dead-letter it): {reason}")
    if until is not None:
        console.print(f"the state at {until.isoformat()} is in schema {schema}")
        return
    differences, newer = run(module.compare(database_url, schema))
    if newer:
        console.print(f"{newer} rows live handled after the replay's end were left out")
    if differences:
        console.print(f"[red]{len(differences)} differences[/] between {service} and {schema}:")
        for d in differences:
            console.print(f"  {d.table} {d.key}: live {d.live!r}, replay {d.replay!r}")
        raise typer.Exit(1)
    console.print(f"no differences: the live projection equals the replay in {schema}")
