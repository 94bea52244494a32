"""`wijkbus kafka-acls`: each partner may write only its events topic and read only its receipts."""

from __future__ import annotations

import shlex
from pathlib import Path

from typer.testing import CliRunner

from tools.cli import app
from wijkbus.partners import load_partners

REGISTRY = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "partners.yaml"
Acl = tuple[str, frozenset[str], str, str, str]  # principal, operations, kind, name, pattern


def printed(*options: str) -> list[str]:
    result = CliRunner().invoke(app, ["kafka-acls", "--partners", str(REGISTRY), *options])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def parse(line: str) -> Acl:
    """One kafka-acls.sh line as the ACL it adds (fails on anything else)."""
    args = shlex.split(line)
    assert args[:3] == ["kafka-acls.sh", "--bootstrap-server", "$KAFKA_BOOTSTRAP_SERVERS"]
    assert "--add" in args and "--command-config" in args

    def values(flag: str) -> list[str]:
        return [args[i + 1] for i, a in enumerate(args) if a == flag]

    (principal,) = values("--allow-principal")
    (kind, name), *more = [(f[2:], v) for f in ("--topic", "--group") for v in values(f)]
    assert not more, line
    pattern = (values("--resource-pattern-type") or ["literal"])[0]
    return principal, frozenset(values("--operation")), kind, name, pattern


def acls(*options: str) -> list[Acl]:
    lines = printed(*options)
    assert lines[0] == "#!/bin/sh" and "set -eu" in lines
    return [parse(ln) for ln in lines if ln.startswith("kafka-acls.sh")]


def test_every_partner_writes_only_its_events_and_reads_only_its_receipts() -> None:
    partners = load_partners(REGISTRY, with_secrets=False).partners
    assert len(partners) >= 2
    for pid in partners:
        own = {(ops, kind, name, pat) for p, ops, kind, name, pat in acls() if p == f"User:{pid}"}
        assert own == {
            (frozenset({"Write"}), "topic", f"partners.{pid}.events", "literal"),
            (frozenset({"Read"}), "topic", f"partners.{pid}.receipts", "literal"),
            (frozenset({"Read"}), "group", f"partners.{pid}.", "prefixed"),
        }


def test_no_partner_acl_reaches_another_partners_topics_or_a_wildcard() -> None:
    for principal, _, _, name, pattern in acls():
        if principal == "User:intake":
            continue
        pid = principal.removeprefix("User:")
        assert name.startswith(f"partners.{pid}."), (principal, name)
        assert "*" not in name and (pattern == "literal" or name.endswith(f"{pid}."))


def test_intake_reads_and_answers_every_partner_topic() -> None:
    gateway = {(frozenset(ops), kind, name, pat) for p, ops, kind, name, pat in acls()
               if p == "User:intake"}  # fmt: skip
    assert (frozenset({"Read", "Describe"}), "topic", "partners.", "prefixed") in gateway
    assert (frozenset({"Write", "Create"}), "topic", "partners.", "prefixed") in gateway


def test_principals_follow_the_given_format() -> None:
    principals = {
        a[0] for a in acls("--principal", "User:wb-{id}", "--intake-principal", "User:gw")
    }
    partners = load_partners(REGISTRY, with_secrets=False).partners
    assert principals == {f"User:wb-{pid}" for pid in partners} | {"User:gw"}
