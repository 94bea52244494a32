"""The README runs as written: every command block and every `wijkbus` command it shows, in a
fresh clone with `make run` running (`tests.e2e.readme_stack`).

Nothing is left out silently: each block is run, or is not a command and says so, or is listed
in NOT_RUN with the reason; each `wijkbus` command the README shows has its runs in RUNS, and a
command added to the README without one fails the test. What the test changes in a command is
said here: the README's service addresses become this stack's (`Clone.localized`), `curl` fails
on an HTTP error status (`--fail-with-body`), and a placeholder (SIGNAL_ID, HUB_ID, REF, KEY.pem,
FILE …) becomes a real value of this run.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from contracts.binary_mode import signed_bytes
from services.intake.ledger_acts import LedgerKey
from tests.e2e.readme_stack import Block, Clone, lay_out, readme_blocks, start_dev, stop_dev
from tests.unit.test_readme_commands import COMMANDS
from wijkbus.infra import Backend, EmbeddedBroker
from wijkbus.partners import sign
from wijkbus.vault import subject_of_signal

NOT_RUN = {
    "make run    # start the embedded stack": "`make run` is `python -m tools dev`, which this "
    "test starts itself; `make test` is the suite this test is part of",
}
NOT_COMMANDS = {
    "text": "a Kafka record's layout or the bytes a signature signs, not a command",
    "yaml": "a routing rule, not a command",
}
# Blocks whose documented answer is a refusal, with what the README says they answer.
REFUSED = {
    'curl -s -X POST "$R/advice/naam:groningen:asingastraat/decline"': (
        '"status":409',
        "the block before opened a hub on this street, which decided its advice: 409",
    )
}
PRELUDE = """set -euo pipefail
set -a
curl() { command curl --fail-with-body --show-error "$@"; }
"""


@dataclass(frozen=True)
class Ran:
    block: Block
    code: int
    output: str


@dataclass
class Session:
    """The clone with its stack, the blocks as they ran, and the shell variables they left."""

    clone: Clone
    ran: list[Ran]
    shell: dict[str, str]


@pytest.fixture(scope="module")
def session(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    clone = lay_out(tmp_path_factory.mktemp("readme") / "wijkbus")
    name = f"readme_{clone.root.parent.name.replace('-', '_')}"
    database_url = backend.create_database(name)
    # A broker of its own, also beside a shared one: replay reads every topic from offset 0.
    with EmbeddedBroker() as broker:
        dev = start_dev(clone, database_url, broker.bootstrap)
        try:
            yield Session(clone, *run_blocks(clone))
        finally:
            stop_dev(dev)
    backend.drop_database(name)


def run_blocks(clone: Clone) -> tuple[list[Ran], dict[str, str]]:
    """Each `sh` block in one bash, in order, with the variables the blocks before it set."""
    shell, ran, state = dict(clone.env), [], clone.root / "shell.env"
    for block in readme_blocks():
        if block.lang != "sh" or any(block.first.startswith(k) for k in NOT_RUN):
            continue
        script = f'{PRELUDE}{clone.localized(block.text)}\nenv -0 > "{state}"\n'
        try:
            done = subprocess.run(["bash", "-c", script], cwd=clone.root, env=shell,
                                  capture_output=True, text=True, timeout=120)  # fmt: skip
        except subprocess.TimeoutExpired as late:
            ran.append(Ran(block, -1, f"still running after 120 s: {late.stdout!r}"))
            continue
        ran.append(Ran(block, done.returncode, done.stdout + done.stderr))
        if done.returncode == 0:
            pairs = state.read_text().split("\0")
            kept = (p.split("=", 1) for p in pairs if "=" in p and not p.startswith("BASH_FUNC"))
            shell = dict(kept)
    return ran, shell


def test_every_block_is_run_or_says_why_not() -> None:
    for block in readme_blocks():
        assert block.lang in {"sh", "python", *NOT_COMMANDS}, f"README line {block.line}"
    firsts = [b.first for b in readme_blocks()]
    for known in [*NOT_RUN, *REFUSED]:
        assert any(f.startswith(known) for f in firsts), f"no README block starts {known!r}"


def test_every_shell_block_runs_against_the_stack(session: Session) -> None:
    failed = []
    for r in session.ran:
        refused = next((v for k, v in REFUSED.items() if r.block.first.startswith(k)), None)
        if refused is not None:
            ok = r.code == 22 and refused[0] in r.output.replace(" ", "")
        else:
            ok = r.code == 0 and '"refused"' not in r.output
        if not ok:
            failed.append(f"README line {r.block.line} (exit {r.code}):\n{r.output[-1500:]}")
    assert not failed, "\n\n".join(failed)
    assert len(session.ran) >= 6
    assert {"KEY", "SIGNAL", "HUB"} <= session.shell.keys()


def test_the_binary_signature_recipe_is_the_one_intake_checks() -> None:
    (recipe,) = [b for b in readme_blocks() if b.lang == "python"]
    scope: dict[str, Any] = {}
    exec(recipe.text, scope)  # noqa: S102 -- the README's own function, as written
    headers = {"ce_specversion": b"1.0", "ce_id": b"HB-2", "content-type": b"application/json"}
    value, secret = b'{"location":{"street":"Asingastraat"}}', b"readme-secret"
    expected = sign(secret, signed_bytes(headers, value, "ce_"))
    assert scope["binary_signature"](secret, headers, value) == expected


@dataclass(frozen=True)
class Run:
    """One run of a README command: the line as typed (`$VAR`s from the blocks' shell or this
    test), what its output must say, the answer to a question it asks, its exit code."""

    line: str
    says: tuple[str, ...]
    answer: str | None = None
    code: int = 0


BY = '--by "privacy officer (README test)"'
CANARY = "Kanarie Huurder-README"  # a fictitious tenant, sealed by intake'
# In the order they run: a round is imported before it is decided, a year opened before closed.
RUNS: dict[str, list[Run]] = {
    "--version": [Run("--version", ("wijkbus ",))],
    "migrate": [Run("migrate", ("intake: up to date", "notify: up to date"))],
    # The feedback block sent examples/event.json over HTTP already: the same (source, id).
    "partner send --as woonstichting-noord examples/event.json": [
        Run("partner send --as woonstichting-noord examples/event.json", ("ontvangst.duplicaat",))
    ],
    "partner simulate --scenario de-hoogte --rate 50/s --count 500": [
        Run(
            "partner simulate --scenario de-hoogte --rate 50/s --count 500",
            ("500 de-hoogte events as woonstichting-noord", "accepted ", "refused "),
        )
    ],
    "erase --subject REF --by NAME [--yes]": [
        Run(f'erase --subject "$REF" {BY}', ("cannot be undone", "erased "), answer="y\n"),
        Run(f'erase --subject "$REF" {BY} --yes', ("already erased on", "nothing changed")),
    ],
    "budget import-pb examples/buurtbudget-voorbeeld.pb": [
        Run("budget import-pb examples/buurtbudget-voorbeeld.pb", ("imported (4 projects",))
    ],
    "budget decide pb:buurtbudget-voorbeeld [--rule RULE [--save]]": [
        Run(
            "budget decide pb:buurtbudget-voorbeeld", ("Geveltuintjes", "€ 2.300,00", "opgeslagen")
        ),
        Run("budget decide pb:buurtbudget-voorbeeld --rule equalshares/add1", ("niet opgeslagen",)),
        Run(
            "budget decide pb:buurtbudget-voorbeeld --rule equalshares/add1 --save",
            ("opgeslagen: dit is nu de uitslag",),
        ),
    ],
    "budget import-households examples/households.csv --municipality Voorbeeldstad": [
        Run(
            "budget import-households examples/households.csv --municipality Voorbeeldstad",
            ("Voorbeeldstad: added 6",),
        ),
    ],
    "budget open-year --year 2027 --municipality Voorbeeldstad [--allowance-cents N] "
    "[--rule RULE]": [
        Run(
            "budget open-year --year 2027 --municipality Voorbeeldstad --allowance-cents 1500 "
            "--rule pledge",
            ("Voorbeeldstad 2027 open: 1500 cents",),
        ),
    ],
    "budget issue-codes --year 2027 --municipality Voorbeeldstad --buurt BU99990101 "
    "--out letters": [
        Run(
            "budget issue-codes --year 2027 --municipality Voorbeeldstad --buurt BU99990101 "
            "--out letters",
            ("6 letters written to letters", "in one PDF"),
        ),
    ],
    "budget close-year --year 2027 --municipality Voorbeeldstad": [
        Run(
            "budget close-year --year 2027 --municipality Voorbeeldstad",
            ("cannot be undone", "Voorbeeldstad 2027 closed: 6 households"),
            answer="y\n",
        ),
    ],
    "operator hash-password": [
        Run("operator hash-password", ("scrypt$",), answer="een-lang-wachtwoord\n" * 2),
    ],
    "operator actions SERVICE [--name NAME]": [
        Run("operator actions routing", ("wanneer", "operator", "actie")),
    ],
    "audit trail SIGNAL_ID [--format table|json|html]": [
        Run('audit trail "$SIGNAL"', ("Spoor van melding", "toegewezen")),
        Run('audit trail "$SIGNAL" --format json', ('"signal_id"',)),
        Run('audit trail "$SIGNAL" --format html', ("Spoor van melding", "<tr>")),
    ],
    "audit checkpoint --key KEY.pem --out FILE": [
        Run(
            "audit checkpoint --key operator.pem --out checkpoint.json",
            ("written to checkpoint.json",),
        ),
    ],
    "audit verify [--checkpoint FILE] [--public-key KEY] [--max-checkpoint-age S]": [
        Run("audit verify", ("intact",)),
        Run(
            'audit verify --checkpoint checkpoint.json --public-key "$LEDGER_PUBLIC_KEY" '
            "--max-checkpoint-age 3600",
            ("intact",),
        ),
    ],
    "report wijkhub HUB_ID --format html|json|pdf [--as-of TIME] [--output FILE]": [
        Run('report wijkhub "$HUB" --format json', ('"hub_id"',)),
        Run(
            'report wijkhub "$HUB" --format html --as-of "$(date -Iseconds)" --output hub.html',
            ("hub.html",),
        ),
    ],
    "report wijkhub $HUB --format pdf --output wijkhub.pdf": [
        Run("report wijkhub $HUB --format pdf --output wijkhub.pdf", ("wijkhub.pdf",))
    ],
    "replay intake|routing|budget|notify [--until TIME] [--into SCHEMA]": [
        *(
            Run(f"replay {s}", ("no differences",))
            for s in ("intake", "routing", "budget", "notify")
        ),
        Run(
            'replay routing --until "$(date -Iseconds)" --into routing_readme_until',
            ("is in schema routing_readme_until",),
        ),
    ],
    "replay --republish": [Run("replay --republish", ("republished",))],
    "replay --republish [SERVICE] [--since ID]": [
        Run("replay --republish intake --since 1", ("intake: republished",))
    ],
    # Named in prose ("`wijkbus replay` feeds the same processors"): bare, it asks for a SERVICE.
    "replay": [Run("replay", ("give one of",), code=2)],
}


def test_every_wijkbus_command_of_the_readme_has_its_runs() -> None:
    assert sorted(RUNS) == sorted(set(COMMANDS))


def test_every_wijkbus_command_of_the_readme_runs_against_the_stack(session: Session) -> None:
    clone = session.clone
    env = {**session.shell, **_values(session)}
    failed, log = [], (clone.root / "runs.log").open("w")  # every answer, to read after a run
    for command, runs in RUNS.items():
        for r in runs:
            done = clone.wijkbus(r.line, answer=r.answer, env=env)
            said = done.stdout + done.stderr
            log.write(f"$ wijkbus {r.line}\n{said}\n")
            missing = [s for s in r.says if s not in said]
            if done.returncode != r.code or missing:
                failed.append(f"`wijkbus {r.line}` (for `{command}`): exit {done.returncode}, "
                              f"missing {missing}:\n{said[-1500:]}")  # fmt: skip
    log.close()
    assert not failed, "\n\n".join(failed)
    assert (clone.root / "wijkhub.pdf").read_bytes().startswith(b"%PDF")
    assert len(list((clone.root / "letters").rglob("*.pdf"))) >= 1
    said = [clone.root / "runs.log", *(clone.root / ".wijkbus" / "logs").iterdir()]
    for path in said:  # the sealed tenant's name, in no answer and no service's log
        assert CANARY not in path.read_text(errors="replace"), path


def _values(session: Session) -> dict[str, str]:
    """The placeholders' values: a sealed tenant's subject and the ledger's public key."""
    clone = session.clone
    tenant = clone.root / "tenant.json"
    tenant.write_text(json.dumps(_tenant_signal()))
    sent = clone.wijkbus("partner send --as woonstichting-noord tenant.json")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    signal_id = json.loads(sent.stdout[sent.stdout.index("{") :])["data"]["signal_id"]
    ledger = json.loads((clone.root / ".wijkbus" / "secrets.json").read_text())["ledger_key"]
    return {"REF": _subject(clone.stack["database_url"], signal_id),
            "LEDGER_PUBLIC_KEY": LedgerKey.from_setting(ledger).public}  # fmt: skip


def _tenant_signal() -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "HB-README-HUURDER",
        "source": "urn:nld:kvknr:12345678:systeem:huurbeheer",
        "type": "nl.wijkaanpak.signaal.huurachterstand",
        "data": {
            "location": {"street": "Asingastraat", "city": "Groningen"},
            "person": {"name": CANARY, "phone": "0612345678", "arrears_cents": 90000},
        },
    }


def _subject(database_url: str, signal_id: str) -> str:
    async def find() -> str | None:
        conn = await asyncpg.connect(database_url, server_settings={"search_path": "intake"})
        try:
            return await subject_of_signal(conn, signal_id)
        finally:
            await conn.close()

    ref = asyncio.run(find())
    assert ref is not None, f"no sealed person for {signal_id}"
    return ref
