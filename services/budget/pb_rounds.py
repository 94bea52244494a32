"""Pabulib rounds from the command line's side: a `.pb` file read as a round to import, its
import, and deciding a stored round (the outcome stored, or a what-if with another rule)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from services.budget import pabulib_meta, round_store
from services.budget.domain import Outcome, decide
from services.budget.pabulib import PabulibError, breaches, parse_text, to_election
from wijkbus import db

HERE = Path(__file__).parent
SCHEMA = "budget"


def round_from_pb(
    path: Path,
    round_id: str | None = None,
    *,
    leftover_within_caps: bool | None = None,
    accept_breaches: bool = False,
) -> tuple[round_store.RoundImport, dict[str, list[str]]]:
    """Read a `.pb` file as a round to import (its id defaults to `pb:<file name>`), with the
    bounds its own ballots or projects break; refused if any unless `accept_breaches`."""
    raw = path.read_bytes()
    pb = parse_text(raw.decode("utf-8-sig"))
    election = to_election(pb, leftover_within_caps)
    broken = breaches(pb)
    if broken and not accept_breaches:
        raise PabulibError(f"the file breaks its own META bounds ({breaches_text(broken)}); "
                           "--accept-breaches imports it as it is")  # fmt: skip
    bounds = pabulib_meta.ballot_rules(pb.meta)
    return round_store.RoundImport(
        round_id=round_id or f"pb:{path.stem}",
        title=pb.meta.get("description", path.stem),
        rule=pb.rule,
        vote_type=pb.vote_type,
        currency=pb.meta.get("currency", "EUR"),
        min_length=bounds.min_length,
        max_length=bounds.max_length,
        max_sum_cost=bounds.max_sum_cost,
        source=path.name,
        source_sha256=hashlib.sha256(raw).hexdigest(),
        meta=pb.meta,
        titles={p.project_id: p.name for p in pb.projects},
        voter_ids=tuple(v.voter_id for v in pb.votes),
        election=election,
    ), broken


def breaches_text(broken: Mapping[str, list[str]]) -> str:
    """The META bounds a file breaks, each with how many and a few examples."""
    return "; ".join(f"{rule}: {len(ids)} (e.g. {', '.join(ids[:3])})"
                     for rule, ids in sorted(broken.items()))  # fmt: skip


async def connect(database_url: str) -> asyncpg.Connection:
    await db.migrate_url(database_url, SCHEMA, HERE / "migrations")
    conn: asyncpg.Connection = await asyncpg.connect(
        database_url, server_settings={"search_path": SCHEMA}
    )
    return conn


async def import_pb_file(
    database_url: str,
    path: Path,
    round_id: str | None,
    *,
    leftover_within_caps: bool | None = None,
    accept_breaches: bool = False,
) -> tuple[str, round_store.ImportResult, dict[str, list[str]]]:
    """Import a `.pb` file as a round (idempotent); return the round id, what happened and the
    META bounds the file's ballots break (accepted)."""
    round_, broken = round_from_pb(path, round_id, leftover_within_caps=leftover_within_caps,
                                   accept_breaches=accept_breaches)  # fmt: skip
    conn = await connect(database_url)
    try:
        return round_.round_id, await round_store.import_round(conn, round_), broken
    finally:
        await conn.close()


@dataclass(frozen=True)
class Decision:
    """A round's outcome, whether it was stored, and the titles and costs to show it with."""

    outcome: Outcome
    stored: bool
    titles: Mapping[str, str]


async def decide_round(
    database_url: str, round_id: str, rule: str | None, *, replace: bool = False
) -> Decision:
    """Decide a stored round with its own rule and store the outcome.

    With another `rule` it is a what-if: the stored result stays unless `replace`.
    """
    conn = await connect(database_url)
    try:
        own_rule, election = await round_store.load_round(conn, round_id)
        outcome = decide(election, rule or own_rule)
        stored = rule in (None, own_rule) or replace
        if stored:
            await round_store.save_outcome(conn, round_id, outcome, datetime.now(UTC))
        titles = await round_store.project_titles(conn, round_id)
        return Decision(outcome, stored, titles)
    finally:
        await conn.close()
