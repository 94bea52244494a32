"""Vote rounds residents take part in: open a round, close it (casting: `casting`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.budget import round_store
from services.budget.domain import RULES, Outcome, decide


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
