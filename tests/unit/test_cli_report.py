"""`wijkbus report wijkhub`: the command writes the report in each format, says plainly when
the hub is unknown, and refuses a moment without its offset (the store is faked: its port)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer
from typer.testing import CliRunner

from services.routing.wijkhub.evaluation import HubPeriod, Incident
from tools.cli import app
from tools.report import Inputs, ReportFormat, make_report

ZONE = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 11, 30, 23, tzinfo=UTC)
HUB_ID = "hub-" + "d" * 32
AS_OF = START + timedelta(weeks=5)


class FakeStore:
    """Answers for one hub, and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, datetime]] = []

    def __call__(self, hub_id: str, as_of: datetime) -> Inputs | None:
        self.asked.append((hub_id, as_of))
        if hub_id != HUB_ID:
            return None
        seen = START + timedelta(days=3)
        hub = {
            "hub_id": HUB_ID,
            "address": "Asingastraat 43",
            "streets": ["Asingastraat, Groningen"],
            "city": "Groningen",
            "buurt_code": "BU00140107",
            "starts_at": START,
            "ends_at": START + timedelta(weeks=2),
            "status": "gesloten",
            "partners": ["politie-groningen"],
            "aims": "Contact.",
            "contact_role": "wijkagent",
            "outcome_note": None,
        }
        period = HubPeriod(HUB_ID, 1, START, START + timedelta(weeks=2))
        incident = Incident("bag:1", "overlast", seen, seen, None, None)
        return hub, period, [incident], [incident], 2


def report(
    store: FakeStore, fmt: ReportFormat, output: Path | None = None, hub: str = HUB_ID
) -> None:
    make_report(store, hub, fmt, output, AS_OF, None, ZONE)


def test_html_goes_to_stdout_as_a_whole_page(capsys: pytest.CaptureFixture[str]) -> None:
    store = FakeStore()
    report(store, ReportFormat.html)
    page = capsys.readouterr().out
    assert page.startswith("<!doctype html>") and "Asingastraat 43" in page
    assert store.asked == [(HUB_ID, AS_OF)]


def test_json_goes_to_the_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "hub.json"
    report(FakeStore(), ReportFormat.json, target)
    document = json.loads(target.read_text())
    assert document["evaluation"]["as_of"] == "2027-01-04T23:00:00Z"
    assert document["evaluation"]["hub"]["during"]["incidents"] == 1
    assert capsys.readouterr().out.strip() == str(target)


def test_a_pdf_without_output_lands_here_and_its_path_is_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    report(FakeStore(), ReportFormat.pdf)
    written = Path(f"wijkhub-{HUB_ID}.pdf")
    assert written.read_bytes().startswith(b"%PDF")
    assert capsys.readouterr().out.strip() == str(written)


def test_an_unknown_hub_exits_1_with_a_plain_message(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as stopped:
        report(FakeStore(), ReportFormat.html, hub="hub-" + "e" * 32)
    assert stopped.value.exit_code == 1
    said = capsys.readouterr()
    assert "unknown wijkhub" in said.err and "hub-" + "e" * 32 in said.err
    assert said.out == "" and "Traceback" not in said.err


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--as-of", "2027-01-05T00:00"], "offset"),
        (["--as-of", "gisteren"], "ISO 8601"),
        (["--timezone", "Mars/Olympus"], "time zone"),
    ],
)
def test_the_command_refuses_what_it_cannot_read(arguments: list[str], complaint: str) -> None:
    result = CliRunner().invoke(
        app, ["report", "wijkhub", HUB_ID, *arguments, "--database-url", "postgresql://unused"]
    )
    assert result.exit_code == 2
    assert complaint in result.output


def test_a_malformed_hub_id_is_refused_before_any_connection() -> None:
    result = CliRunner().invoke(
        app, ["report", "wijkhub", "../etc", "--database-url", "postgresql://unused"]
    )
    assert result.exit_code == 2 and "hub-" in result.output
