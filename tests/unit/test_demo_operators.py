"""The demo stack's operators: one login per role that the written registry accepts, and the
`wijkbus operator hash-password` an administrator writes a registry entry with."""

from __future__ import annotations

import json
from pathlib import Path

from pytest import MonkeyPatch
from rich.console import Console
from typer.testing import CliRunner

from tools import cli, demo_operators, operator_cli
from tools.devstack import DemoCredentials, ServiceProcesses
from wijkbus.operators import ROLES, load_operators, password_matches


def test_the_demo_stack_has_one_working_login_per_role(tmp_path: Path) -> None:
    creds = DemoCredentials.load_or_create(tmp_path / "secrets.json")
    path = demo_operators.write_operator_registry(tmp_path / "ops.yaml", creds.operator_passwords)
    logins = demo_operators.logins(creds.operator_passwords)
    assert sorted(login["role"] for login in logins) == sorted(ROLES)
    registry = load_operators(path)
    for login in logins:
        found = registry.login(login["name"], login["password"])
        assert found is not None and found.role == login["role"]
        assert login["password"] not in path.read_text()
    again = DemoCredentials.load_or_create(tmp_path / "secrets.json")
    assert again.operator_passwords == creds.operator_passwords  # a second run keeps them


def test_a_secrets_file_from_before_the_accounts_gets_their_passwords(tmp_path: Path) -> None:
    first = DemoCredentials.load_or_create(tmp_path / "secrets.json")
    stored = {k: v for k, v in first.__dict__.items() if k != "operator_passwords"}
    (tmp_path / "secrets.json").write_text(json.dumps(stored))
    loaded = DemoCredentials.load_or_create(tmp_path / "secrets.json")
    assert set(loaded.operator_passwords) == set(demo_operators.DEMO_OPERATORS)
    assert "operator_passwords" in json.loads((tmp_path / "secrets.json").read_text())


def test_hash_password_prints_a_hash_of_the_password_typed_twice() -> None:
    typed = "een-lang-wachtwoord\neen-lang-wachtwoord\n"
    result = CliRunner().invoke(operator_cli.app, ["hash-password"], input=typed)
    assert result.exit_code == 0, result.output
    stored = result.output.strip().splitlines()[-1]
    assert password_matches("een-lang-wachtwoord", stored)
    short = CliRunner().invoke(operator_cli.app, ["hash-password"], input="kort\nkort\n")
    assert short.exit_code != 0


def test_make_run_prints_one_login_per_role(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    creds = DemoCredentials.load_or_create(tmp_path / "secrets.json")
    stack = ServiceProcesses(tmp_path, "127.0.0.1:9", "postgresql://x", creds, tmp_path / "p.yaml")
    recorder = Console(record=True, width=200)
    monkeypatch.setattr(cli, "console", recorder)
    cli._print_stack(stack, "embedded", tmp_path)
    printed = recorder.export_text()
    for name, role in demo_operators.DEMO_OPERATORS.items():
        line = next(line for line in printed.splitlines() if f"naam {name} " in line)
        assert role in line and creds.operator_passwords[name] in line
