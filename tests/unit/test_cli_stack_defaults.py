"""The `wijkbus` tools find the `make run` stack by themselves: database, broker and partners."""

from __future__ import annotations

import json
import os
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tools.cli import _default_to_running_stack, app

STACK = {
    "database_url": "postgresql://postgres:@/postgres?host=/x/pg",
    "broker": "127.0.0.1:9",
    "partners_file": "/x/partners.yaml",
    "budget_vault_key": "k" * 44,
}
NAMES = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "WIJKBUS_PARTNERS", "BUDGET_VAULT_KEY")


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".wijkbus").mkdir()
    (tmp_path / ".wijkbus" / "stack.json").write_text(json.dumps(STACK))
    monkeypatch.chdir(tmp_path)
    # The code under test sets variables that were unset; a copy keeps them from leaking into
    # later tests (monkeypatch restores only what it changed itself).
    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if k not in NAMES})
    return tmp_path


def test_tools_take_the_running_stacks_database_broker_partners_and_budget_key(
    stack_dir: Path,
) -> None:
    _default_to_running_stack(["replay"])
    assert [os.environ[n] for n in NAMES] == [
        STACK["database_url"],
        STACK["broker"],
        STACK["partners_file"],
        STACK["budget_vault_key"],
    ]


def test_what_the_environment_says_wins_and_dev_takes_nothing(
    stack_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIJKBUS_PARTNERS", "/mine.yaml")
    _default_to_running_stack(["replay"])
    assert os.environ["WIJKBUS_PARTNERS"] == "/mine.yaml"
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    _default_to_running_stack(["dev"])
    assert not any(name in os.environ for name in NAMES)


def test_version_names_the_installed_package() -> None:
    answer = CliRunner().invoke(app, ["--version"])
    assert answer.exit_code == 0, answer.output
    assert answer.output.strip() == f"wijkbus {version('wijkbus')}"
