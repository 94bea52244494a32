"""Vote rounds residents take part in: open a round, cast an approval ballot once, close it."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from contracts import events as ev
from services.budget import codes, pabulib_meta, round_store
from services.budget import events as outbox
from services.budget.domain import RULES, Outcome, Project, decide
from services.budget.domain.ballot_rules import BallotRules, ballot_breaches
from services.budget.handlers import Budget, SupportRefusedError


@dataclass(frozen=True)
class RoundProject:
    """A project on a resident round's ballot."""

    project_id: str
    title: str
    cost: int


@dataclass(frozen=True)
class NewRound:
    """A vote round over a fixed buurt budget, as an operator opens it."""

    round_id: str
    title: str
    municipality: str
    year: int
    buurt_code: str
    budget: int
    rule: str
    min_length: int
    max_length: int | None
    projects: tuple[RoundProject, ...]


class RoundError(ValueError):
    """The round cannot be opened or closed as asked."""


async def open_round(conn: asyncpg.Connection, r: NewRound) -> None:
    """Store and open a round for residents of its buurt."""
    if r.rule not in RULES:
        raise RoundError(f"unknown rule {r.rule!r}; known: {', '.join(RULES)}")
    async with conn.transaction():
        inserted = await conn.fetchval(
            "INSERT INTO rounds (round_id, title, buurt_code, budget, rule, min_length, max_length,"
            " municipality, year, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open')"
            " ON CONFLICT (round_id) DO NOTHING RETURNING round_id",
            r.round_id, r.title, r.buurt_code, r.budget, r.rule, r.min_length, r.max_length,
            r.municipality, r.year,
        )  # fmt: skip
        if inserted is None:
            raise RoundError(f"round {r.round_id} exists already")
        await conn.executemany(
            "INSERT INTO round_projects (round_id, project_id, title, cost)"
            " VALUES ($1, $2, $3, $4)",
            [(r.round_id, p.project_id, p.title, p.cost) for p in r.projects],
        )


async def open_round_of(
    conn: asyncpg.Connection, municipality: str, year: int, buurt_code: str
) -> asyncpg.Record | None:
    """The buurt's open vote round of the year, if any."""
    return await conn.fetchrow(
        "SELECT round_id, title, budget, min_length, max_length FROM rounds"
        " WHERE municipality = $1 AND year = $2 AND buurt_code = $3 AND status = 'open'"
        " ORDER BY created_at DESC LIMIT 1",
        municipality,
        year,
        buurt_code,
    )


async def cast(
    budget: Budget, conn: asyncpg.Connection, code: str, round_id: str, approved: list[str]
) -> None:
    """A household casts its approval ballot in an open round of its buurt — once."""
    now = budget.clock()
    async with conn.transaction():
        holder = await budget.holder(conn, code)
        r = await conn.fetchrow(
            "SELECT round_id, buurt_code, municipality, year, status, min_length, max_length,"
            " max_sum_cost, meta::text FROM rounds WHERE round_id = $1",
            round_id,
        )
        if r is None or (r["municipality"], r["year"], r["buurt_code"]) != (
            holder.municipality, holder.year, holder.buurt_code,
        ):  # fmt: skip
            raise SupportRefusedError("not-found", "Deze stemronde bestaat niet voor uw buurt.")
        if r["status"] != "open":
            raise SupportRefusedError("closed", "Deze stemronde is gesloten.")
        choice = sorted(set(approved))
        known = {
            p["project_id"]: Project(p["project_id"], p["cost"], frozenset(p["categories"]))
            for p in await conn.fetch(
                "SELECT project_id, cost, categories FROM round_projects WHERE round_id = $1",
                round_id,
            )
        }
        _check_ballot(choice, known, _ballot_rules(r))
        voter = codes.pseudonym(await budget.key(conn), f"round:{round_id}", holder.household_id)
        try:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO round_ballots (round_id, voter_id, cast_at) VALUES ($1, $2, $3)",
                    round_id,
                    voter,
                    now,
                )
        except asyncpg.UniqueViolationError:
            raise SupportRefusedError(
                "used", "Deze code is al gebruikt: uw huishouden heeft in deze ronde al gestemd."
            ) from None
        await conn.executemany(
            "INSERT INTO round_approvals (round_id, voter_id, project_id) VALUES ($1, $2, $3)",
            [(round_id, voter, p) for p in choice],
        )
        await outbox.record(conn, round_id, ev.BallotCast(
            round_id=round_id, buurt_code=r["buurt_code"], cast_at=now
        ), now)  # fmt: skip


def _ballot_rules(r: asyncpg.Record) -> BallotRules:
    """The round's bounds on a ballot: its META (pabulib rounds), then its own columns."""
    from_meta = pabulib_meta.ballot_rules(json.loads(r["meta"] or "{}"))
    return replace(
        from_meta,
        min_length=max(r["min_length"] or 0, from_meta.min_length or 0, 1),
        max_length=r["max_length"] if r["max_length"] is not None else from_meta.max_length,
        max_sum_cost=r["max_sum_cost"] if r["max_sum_cost"] is not None
        else from_meta.max_sum_cost,
    )  # fmt: skip


def _check_ballot(choice: list[str], known: dict[str, Project], rules: BallotRules) -> None:
    if unknown := [p for p in choice if p not in known]:
        raise SupportRefusedError("invalid", f"Onbekend project: {', '.join(unknown)}.")
    if breaches := ballot_breaches(rules, known, choice):
        raise SupportRefusedError("invalid", " ".join(b.message for b in breaches))


async def close_round(conn: asyncpg.Connection, round_id: str, now: datetime) -> Outcome:
    """Close a round to ballots and decide it with its rule; the outcome is stored and
    published (RoundDecided)."""
    async with conn.transaction():
        status = await conn.fetchval(
            "UPDATE rounds SET status = 'gesloten' WHERE round_id = $1 AND status = 'open'"
            " RETURNING status",
            round_id,
        )
        if status is None:
            raise RoundError(f"round {round_id} is not open")
        rule, election = await round_store.load_round(conn, round_id)
        outcome = decide(election, rule)
        await round_store.save_outcome(conn, round_id, outcome, now)
    return outcome
