"""A command whose database or broker does not answer says so in one line and exits with 2."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tools.cli import app
from tools.devstack import DemoCredentials, write_partner_registry
from wijkbus.cli_run import run
from wijkbus.infra import free_port


@pytest.mark.parametrize(
    "command",
    [
        ["replay", "routing", "--into", "scratch"],
        ["replay", "--republish"],
        ["audit", "verify"],
        ["budget", "decide", "groen-2026"],
    ],
)
def test_an_unreachable_server_is_one_clear_line_not_a_traceback(
    command: list[str], tmp_path: Path
) -> None:
    partners = write_partner_registry(
        tmp_path / "partners.yaml", DemoCredentials.load_or_create(tmp_path / "secrets.json")
    )
    nobody = f"127.0.0.1:{free_port()}"  # nothing listens there
    result = CliRunner().invoke(
        app,
        command,
        env={
            "DATABASE_URL": f"postgresql://postgres@{nobody}/wijkbus",
            "KAFKA_BOOTSTRAP_SERVERS": nobody,
            "WIJKBUS_PARTNERS": str(partners),
            "COLUMNS": "200",
        },
    )
    assert result.exit_code == 2, result.output
    assert "cannot reach the database or the broker: ConnectionRefusedError" in result.output
    assert "Traceback" not in result.output


def test_a_broken_partner_registry_is_named_before_anything_is_read(tmp_path: Path) -> None:
    broken = tmp_path / "partners.yaml"
    broken.write_text("- {id: x}\n")
    result = CliRunner().invoke(
        app,
        ["replay", "routing"],
        env={"DATABASE_URL": "x", "KAFKA_BOOTSTRAP_SERVERS": "y", "WIJKBUS_PARTNERS": str(broken),
             "COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "Invalid value for --partners" in result.output
    assert "name: Field required" in result.output


def test_a_command_saying_what_it_does_prints_no_spinner_into_a_pipe(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def work() -> int:
        return 42

    assert run(work(), doing="walking the hash chain") == 42
    assert capsys.readouterr() == ("", "")  # not a terminal: the answer alone, for scripts


def test_on_a_terminal_a_command_says_what_it_does_while_it_works(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich: treat stderr as a terminal

    async def work() -> int:
        await asyncio.sleep(0.3)
        return 42

    assert run(work(), doing="walking the hash chain") == 42
    assert "walking the hash chain" in capsys.readouterr().err
