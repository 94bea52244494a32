"""asyncpg queries for budget's vote rounds: import, load for a decision, store the outcome."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

import asyncpg

from contracts import events as ev
from services.budget import events as outbox
from services.budget.domain import Election, Leftover, Outcome, Project
from services.budget.domain.election import CATEGORY


@dataclass(frozen=True)
class RoundImport:
    """A round as it is imported: where it came from, its rules and its election."""

    round_id: str
    title: str
    rule: str
    vote_type: str
    currency: str
    min_length: int | None
    max_length: int | None
    max_sum_cost: int | None
    source: str
    source_sha256: str
    meta: Mapping[str, str]
    titles: Mapping[str, str]
    voter_ids: tuple[str, ...]
    election: Election


@dataclass(frozen=True)
class ImportResult:
    """What an import did: created the round, or found the very same round already there."""

    created: bool
    projects: int
    ballots: int


class RoundConflictError(Exception):
    """A round with this id exists but came from a different file."""


class UnknownRoundError(LookupError):
    """No round with this id."""


async def import_round(conn: asyncpg.Connection, r: RoundImport) -> ImportResult:
    """Store a round, its projects and ballots in one transaction; a re-import changes nothing.

    The tables are analysed afterwards: without statistics the planner takes a freshly loaded
    round for empty and the first decision nest-loops over all of its approvals.
    """
    e = r.election
    async with conn.transaction():
        inserted = await conn.fetchval(
            "INSERT INTO rounds (round_id, title, budget, currency, rule, vote_type, min_length,"
            " max_length, max_sum_cost, fill_leftover, source, source_sha256, meta,"
            " leftover_rule, leftover_within_caps)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15)"
            " ON CONFLICT (round_id) DO NOTHING RETURNING round_id",
            r.round_id, r.title, e.budget, r.currency, r.rule, r.vote_type, r.min_length,
            r.max_length, r.max_sum_cost, e.leftover is Leftover.FIT, r.source,
            r.source_sha256, json.dumps(dict(r.meta)), e.leftover.value, e.leftover_within_caps,
        )  # fmt: skip
        if inserted is None:
            existing = await conn.fetchval(
                "SELECT source_sha256 FROM rounds WHERE round_id = $1", r.round_id
            )
            if existing != r.source_sha256:
                raise RoundConflictError(f"round {r.round_id} was imported from another file")
            return ImportResult(False, len(e.projects), len(e.ballots))
        await _copy_round(conn, r)
    await conn.execute("ANALYZE round_projects, round_ballots, round_approvals")
    return ImportResult(True, len(e.projects), len(e.ballots))


async def _copy_round(conn: asyncpg.Connection, r: RoundImport) -> None:
    e = r.election
    await conn.copy_records_to_table(
        "round_category_caps",
        records=[(r.round_id, attribute, value, cap)
                 for attribute, caps in e.caps().items() for value, cap in caps.items()],
        columns=["round_id", "attribute", "category", "cap"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "round_projects",
        records=[
            (r.round_id, p.project_id, r.titles.get(p.project_id, ""), p.cost,
             sorted(p.categories), json.dumps({a: sorted(v) for a, v in p.attributes}))
            for p in e.projects
        ],
        columns=["round_id", "project_id", "title", "cost", "categories", "attributes"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "round_ballots",
        records=[(r.round_id, v) for v in r.voter_ids],
        columns=["round_id", "voter_id"],
    )
    await conn.copy_records_to_table(
        "round_approvals",
        records=[
            (r.round_id, voter, project_id)
            for voter, ballot in zip(r.voter_ids, e.ballots, strict=True)
            for project_id in sorted(ballot)
        ],
        columns=["round_id", "voter_id", "project_id"],
    )


async def load_round(conn: asyncpg.Connection, round_id: str) -> tuple[str, Election]:
    """The round's rule and its election, as the domain decides it."""
    row = await conn.fetchrow(
        "SELECT budget, rule, leftover_rule, leftover_within_caps FROM rounds WHERE round_id = $1",
        round_id,
    )
    if row is None:
        raise UnknownRoundError(f"no round {round_id}")
    caps: dict[str, dict[str, int]] = {}
    for c in await conn.fetch(
        "SELECT attribute, category, cap FROM round_category_caps WHERE round_id = $1", round_id
    ):
        caps.setdefault(c["attribute"], {})[c["category"]] = c["cap"]
    category_caps = caps.pop(CATEGORY, {})
    projects = await conn.fetch(
        "SELECT project_id, cost, categories, attributes::text FROM round_projects"
        " WHERE round_id = $1 ORDER BY project_id",
        round_id,
    )
    # Two plain scans, each one pass over its primary key; the ballots are joined here.
    approved: dict[str, list[str]] = {
        b["voter_id"]: [] for b in await conn.fetch(
            "SELECT voter_id FROM round_ballots WHERE round_id = $1", round_id)
    }  # fmt: skip
    for a in await conn.fetch(
        "SELECT voter_id, project_id FROM round_approvals WHERE round_id = $1", round_id
    ):
        approved[a["voter_id"]].append(a["project_id"])
    election = Election(
        budget=row["budget"],
        projects=tuple(_project(p) for p in projects),
        ballots=tuple(frozenset(approved[v]) for v in sorted(approved)),
        category_caps=MappingProxyType(category_caps),
        attribute_caps=MappingProxyType({a: MappingProxyType(c) for a, c in caps.items()}),
        leftover=Leftover(row["leftover_rule"]),
        leftover_within_caps=row["leftover_within_caps"],
    )
    return row["rule"], election


def _project(row: asyncpg.Record) -> Project:
    attributes = json.loads(row["attributes"])
    return Project(
        row["project_id"],
        row["cost"],
        frozenset(row["categories"]),
        attributes=tuple((a, frozenset(v)) for a, v in sorted(attributes.items())),
    )


async def save_outcome(
    conn: asyncpg.Connection, round_id: str, outcome: Outcome, at: datetime
) -> None:
    """Replace the round's decision with this outcome (votes, winners in order, reasons, the
    partly funded project, the tie flag) and publish it as RoundDecided, in one transaction."""
    rank = {project_id: i + 1 for i, project_id in enumerate(outcome.selected)}
    partial = outcome.partial
    async with conn.transaction():
        await conn.execute("DELETE FROM round_decisions WHERE round_id = $1", round_id)
        await conn.execute(
            "INSERT INTO round_decisions (round_id, rule, spent, partial_project_id,"
            " partial_amount, tie, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            round_id, outcome.rule, outcome.spent, partial and partial.project_id,
            partial and partial.amount, outcome.tie, at,
        )  # fmt: skip
        await conn.executemany(
            "INSERT INTO round_results"
            " (round_id, project_id, votes, selected, selection_rank, reason, funded)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [(round_id, r.project_id, r.votes, r.selected, rank.get(r.project_id), r.reason,
              r.funded) for r in outcome.results],
        )  # fmt: skip
        buurt = await conn.fetchval("SELECT buurt_code FROM rounds WHERE round_id = $1", round_id)
        await outbox.record(conn, round_id, ev.RoundDecided(
            round_id=round_id, buurt_code=buurt, rule=outcome.rule, selected=outcome.selected,
            spent=outcome.spent, partial_project_id=partial and partial.project_id,
            partial_amount=partial and partial.amount, tie=outcome.tie, decided_at=at,
        ), at)  # fmt: skip


async def project_titles(conn: asyncpg.Connection, round_id: str) -> dict[str, str]:
    """Each project's title in a round, by project id."""
    rows = await conn.fetch(
        "SELECT project_id, title FROM round_projects WHERE round_id = $1", round_id
    )
    return {r["project_id"]: r["title"] for r in rows}


async def round_results(conn: asyncpg.Connection, round_id: str) -> list[asyncpg.Record]:
    """The stored result lines of a round, winners first in the order they were chosen."""
    return await conn.fetch(
        "SELECT r.project_id, p.title, p.cost, r.votes, r.selected, r.selection_rank, r.reason,"
        " r.funded"
        " FROM round_results r JOIN round_projects p USING (round_id, project_id)"
        " WHERE r.round_id = $1 ORDER BY r.selection_rank NULLS LAST, r.votes DESC, r.project_id",
        round_id,
    )
