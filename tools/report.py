"""`wijkbus report wijkhub HUB_ID`: what a wijkhub changed, as HTML, JSON or PDF.

The inputs come from routing's store (`services.routing.wijkhub.reading.report_inputs`); the
evaluation and the rendering are pure, so the report as of a moment is the same every time.
Nothing personal is printed: only the report itself, or the path it was written to.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console

from contracts.wijkhubs import HubId
from services.routing.wijkhub import report as rendering
from services.routing.wijkhub.evaluation import HubPeriod, Incident, evaluate
from wijkbus.cli_run import run

report = typer.Typer(help="Reports over what the services know.", no_args_is_help=True)
errors = Console(stderr=True)
Inputs = tuple[dict[str, Any], HubPeriod, list[Incident], list[Incident], int]
Loader = Callable[[str, datetime], Inputs | None]
"""The store's answer for a hub as of a moment: hub, period, incidents, comparison, streets."""


class ReportFormat(StrEnum):
    html = "html"
    json = "json"
    pdf = "pdf"


async def _inputs(database_url: str, schema: str, hub_id: str, as_of: datetime) -> Inputs | None:
    from services.routing.wijkhub.reading import report_inputs

    conn = await asyncpg.connect(database_url, server_settings={"search_path": schema})
    try:
        return await report_inputs(conn, hub_id, as_of)
    finally:
        await conn.close()


@report.command()
def wijkhub(
    hub_id: str = typer.Argument(..., help="the wijkhub's id (hub-…)"),
    output_format: ReportFormat = typer.Option(ReportFormat.html, "--format"),
    output: Path | None = typer.Option(
        None, "--output", help="the file to write (pdf: default wijkhub-HUB_ID.pdf here)"
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="evaluate as known at this moment (ISO 8601 with offset; now)"
    ),
    baseline_weeks: float | None = typer.Option(
        None,
        "--baseline-weeks",
        min=0.001,
        help="weeks before the start (default: as long as the hub)",
    ),
    timezone: str = typer.Option("Europe/Amsterdam", "--timezone", help="for the report's dates"),
    schema: str = typer.Option("routing", "--schema", help="routing's schema"),
    database_url: str = typer.Option(
        ..., "--database-url", envvar="DATABASE_URL", show_default=False
    ),
) -> None:
    """What a wijkhub changed: incidents before, during and after it, against the buurt's other
    streets; an indication, not proof."""
    moment = _moment(as_of)
    zone = _zone(timezone)
    _valid_hub_id(hub_id)

    def load(hub: str, at: datetime) -> Inputs | None:
        return run(_inputs(database_url, schema, hub, at))

    make_report(load, hub_id, output_format, output, moment, baseline_weeks, zone)


def make_report(
    load: Loader,
    hub_id: str,
    output_format: ReportFormat,
    output: Path | None,
    as_of: datetime,
    baseline_weeks: float | None,
    zone: ZoneInfo,
) -> None:
    """Load the hub's inputs, evaluate them as of `as_of`, and write the report."""
    inputs = load(hub_id, as_of)
    if inputs is None:
        errors.print(f"[red]onbekende wijkhub / unknown wijkhub:[/] {hub_id}")
        raise typer.Exit(1)
    hub, period, incidents, comparison, comparison_streets = inputs
    evaluation = evaluate(period, incidents, comparison, comparison_streets, as_of, baseline_weeks)
    if output_format is ReportFormat.pdf:
        path = output or Path(f"wijkhub-{hub_id}.pdf")
        path.write_bytes(rendering.render_pdf(hub, evaluation, zone))
        print(path)
        return
    if output_format is ReportFormat.json:
        text = rendering.render_json(hub, evaluation) + "\n"
    else:
        text = rendering.render_document(hub, evaluation, zone)
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    print(output)


def _moment(as_of: str | None) -> datetime:
    if as_of is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        raise typer.BadParameter("give an ISO 8601 moment, e.g. 2027-01-05T00:00+01:00") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give the moment with its UTC offset", param_hint="--as-of")
    return moment.astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown time zone {name!r}", param_hint="--timezone") from None


def _valid_hub_id(hub_id: str) -> None:
    try:
        TypeAdapter(HubId).validate_python(hub_id)
    except ValidationError:
        raise typer.BadParameter(
            "a wijkhub's id is hub- and 32 hex digits", param_hint="HUB_ID"
        ) from None
