"""Every `wijkbus ...` command the README shows exists as written, and its examples ship."""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import uuid4

import click
import pytest
import typer
import typer.main

from contracts.validation import ValidatedEvent, validate_partner_event
from services.budget.domain.households import parse_register
from services.budget.pb_rounds import round_from_pb
from tools.cli import app
from tools.devstack import DEMO_PARTNERS, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*(\.[a-z]+)?$")  # REF, HUB_ID, KEY.pem, FILE ...
OPTION = re.compile(r"^\[*(--[a-z0-9-]+)")
CORP = next(p for p in DEMO_PARTNERS if p["id"] == "woonstichting-noord")


def readme_commands() -> list[str]:
    """The `wijkbus` command lines of the README: inline code spans and lines of code blocks."""
    text = README.replace("\\|", "|")  # a `|` escaped inside a table cell
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    prose = re.sub(r"```[a-z]*\n.*?```", "", text, flags=re.S)
    lines = re.findall(r"`([^`\n]+)`", prose) + [ln for b in blocks for ln in b.splitlines()]
    commands = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        for prefix in ("wijkbus ", ".venv/bin/wijkbus ", ".venv/bin/python -m tools "):
            if line.startswith(prefix) and line != prefix + "...":
                commands.append(line.removeprefix(prefix).strip())
    return commands


COMMANDS = readme_commands()


def _is_group(command: Any) -> bool:
    return hasattr(command, "list_commands")  # typer's own click: no common Group class to check


def resolve(words: list[str]) -> tuple[Any, list[str], list[str]]:
    """Walk the command tree along `words`: the command reached, its path and the rest."""
    command: Any = typer.main.get_command(app)
    path: list[str] = []
    rest = list(words)
    while _is_group(command) and rest and not rest[0].startswith("-"):
        sub = command.get_command(command.context_class(command), rest[0])
        assert sub is not None, f"`wijkbus {' '.join(path)}` has no subcommand {rest[0]!r}"
        command, path, rest = sub, [*path, rest.pop(0)], rest
    # a group only with an option of its own, such as `wijkbus --version`
    assert not _is_group(command) or rest, f"`wijkbus {' '.join(path)}` needs a subcommand"
    return command, path, rest


def test_the_readme_shows_the_commands_this_test_checks() -> None:
    tops = {c.split()[0] for c in COMMANDS}
    assert {"partner", "erase", "budget", "audit", "replay", "report", "migrate"} <= tops
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize("line", COMMANDS)
def test_every_subcommand_and_option_the_readme_names_exists(line: str) -> None:
    command, path, rest = resolve(line.split())
    known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    named = {m.group(1) for word in rest if (m := OPTION.match(word))}
    assert named <= known, f"`wijkbus {' '.join(path)}` has no {sorted(named - known)}"


CONCRETE = [c for c in COMMANDS if not re.search(r"[\[|]", c)]


@pytest.mark.parametrize("line", CONCRETE)
def test_every_complete_readme_command_parses_from_a_fresh_clone(
    line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsed as the shell would pass it, from the clone's root (so files it names must ship);
    `$VARS` and PLACEHOLDERS stand for values, and the stack supplies the servers."""
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/wijkbus")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    words = ["value" if w.startswith("$") or PLACEHOLDER.match(w) else w for w in line.split()]
    command, path, rest = resolve(words)
    try:
        command.make_context(" ".join(["wijkbus", *path]), rest)
    except (click.exceptions.Exit, typer.Exit) as done:  # an eager --version ends parsing
        assert done.exit_code == 0, f"`wijkbus {line}` exits {done.exit_code}"
    except Exception as exc:  # a usage error of typer's click
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        pytest.fail(f"`wijkbus {line}` does not parse: {message}")


def test_the_example_event_is_a_valid_signal_of_the_demo_housing_corporation() -> None:
    raw = (REPO / "examples" / "event.json").read_bytes()
    checked = validate_partner_event(raw)
    assert isinstance(checked, ValidatedEvent), checked
    assert checked.event.source == CORP["source"]
    assert checked.categorie in CORP["may_send"]


def test_the_example_batch_holds_valid_signals_of_the_demo_housing_corporation() -> None:
    events = json.loads((REPO / "examples" / "batch.json").read_text(encoding="utf-8"))
    assert 1 < len(events) <= 500
    for event in events:
        checked = validate_partner_event(json.dumps(event).encode())
        assert isinstance(checked, ValidatedEvent), checked
        assert checked.event.source == CORP["source"]
        assert checked.categorie in CORP["may_send"]


def test_the_example_election_reads_as_a_round() -> None:
    round_, breaches = round_from_pb(REPO / "examples" / "buurtbudget-voorbeeld.pb")
    assert breaches == {}
    assert round_.round_id == "pb:buurtbudget-voorbeeld"  # the id the README decides
    assert f"decide {round_.round_id}" in README
    assert len(round_.election.projects) == len(round_.titles) == 4


def test_the_readme_links_only_files_a_clone_has() -> None:
    for target in re.findall(r"\]\(([^)#:]+)\)", README):
        assert (REPO / target).exists(), target
    assert "../shared" not in README


def test_the_example_feedback_takes_a_signal_up_as_the_partner_the_readme_names() -> None:
    wij = next(p for p in DEMO_PARTNERS if p["id"] == "wij-groningen")
    text = (REPO / "examples" / "feedback.json").read_text(encoding="utf-8")
    assert '"SIGNAL_ID"' in text  # the README's sed fills it in
    checked = validate_partner_event(text.replace("SIGNAL_ID", str(uuid4())).encode())
    assert isinstance(checked, ValidatedEvent), checked
    assert checked.kind == "feedback"
    assert checked.event.source == wij["source"]
    assert '"demo_partners"][3]' in README and DEMO_PARTNERS[3] is wij  # the key the README uses


def test_the_example_register_is_the_made_up_buurt_the_readme_issues_codes_for() -> None:
    text = (REPO / "examples" / "households.csv").read_text(encoding="utf-8")
    households = parse_register(text)
    assert len(households) == 6
    assert {h.buurt_code for h in households} == {"BU99990101"}
    assert all(h.street and h.city for h in households)  # addresses for the letters
    assert "import-households examples/households.csv" in README
    assert "--buurt BU99990101" in README
