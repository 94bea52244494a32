"""`wijkbus kafka-acls`: the `kafka-acls.sh` commands that confine each partner to its topics.

Printed, not run: a Kafka administrator reviews and runs them with admin credentials. They only
confine anyone on a cluster whose authorizer denies what no ACL allows
(`allow.everyone.if.no.acl.found=false`, the default with `StandardAuthorizer`).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import typer

from contracts import topics
from wijkbus.partners import Partner, load_partners

DEFAULT_PRINCIPAL = "User:{id}"
_BOOTSTRAP = '"$KAFKA_BOOTSTRAP_SERVERS"'


def partner_acls(partner: Partner, principal_format: str = DEFAULT_PRINCIPAL) -> list[list[str]]:
    """The ACLs of one partner: write its events topic, read its receipts topic (with consumer
    groups named `partners.<id>.*`), nothing else."""
    principal = principal_format.format(id=partner.id)
    allow = ["--add", "--allow-principal", principal]
    prefix = f"partners.{partner.id}."
    return [
        [*allow, "--operation", "Write", "--topic", topics.partner_events(partner.id)],
        [*allow, "--operation", "Read", "--topic", topics.partner_receipts(partner.id)],
        [*allow, "--operation", "Read", "--group", prefix, "--resource-pattern-type", "prefixed"],
    ]


def gateway_acls(principal: str) -> list[list[str]]:
    """Intake's ACLs on the partner topics: read every events topic, write every receipts topic
    (prefixed `partners.`; the partners' own ACLs keep them apart)."""
    allow = ["--add", "--allow-principal", principal, "--resource-pattern-type", "prefixed"]
    return [
        [*allow, "--operation", "Read", "--operation", "Describe", "--topic", "partners."],
        [*allow, "--operation", "Write", "--operation", "Create", "--topic", "partners."],
    ]


def commands(
    partners: list[Partner], *, principal_format: str, intake_principal: str, admin: str
) -> list[str]:
    """Shell lines: one `kafka-acls.sh` per ACL, the bootstrap servers from the environment."""
    head = ["kafka-acls.sh", "--bootstrap-server", _BOOTSTRAP, "--command-config", admin]
    acls = [a for p in partners for a in partner_acls(p, principal_format)]
    acls += gateway_acls(intake_principal)
    return [" ".join(x if x == _BOOTSTRAP else shlex.quote(x) for x in head + acl) for acl in acls]


def kafka_acls(
    partners_file: Path = typer.Option(
        ...,
        "--partners",
        envvar="WIJKBUS_PARTNERS",
        exists=True,
        dir_okay=False,
        help="the partner registry",
    ),
    principal: str = typer.Option(
        DEFAULT_PRINCIPAL, help="each partner's Kafka principal; {id} is its partner id"
    ),
    intake_principal: str = typer.Option("User:intake", help="intake's Kafka principal"),
    admin_config: str = typer.Option(
        "admin.properties", help="the --command-config file with the admin's credentials"
    ),
) -> None:
    """Print the kafka-acls commands that let each partner write only partners.<id>.events
    and read only partners.<id>.receipts (and intake read and answer them all)."""
    registry = load_partners(partners_file, with_secrets=False)
    partners = sorted(registry.partners.values(), key=lambda p: p.id)
    typer.echo("#!/bin/sh\n# Partner topic ACLs from " + partners_file.name + "\nset -eu")
    for line in commands(
        partners, principal_format=principal, intake_principal=intake_principal, admin=admin_config
    ):
        typer.echo(line)
