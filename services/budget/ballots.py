"""Vote rounds residents take part in: open a round, cast an approval ballot once, close it."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from contracts import events as ev
from services.budget import codes, pabulib_meta, reporting, round_store
from services.budget import events as outbox
from services.budget.domain import RULES, Outcome, Project, decide
from services.budget.domain.ballot_rules import BallotRules, ballot_breaches
from services.budget.handlers import UNKNOWN_CODE, Budget, SupportRefusedError
from wijkbus import outbox as outbox_sql


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
    """A household casts its approval ballot in an open round of its buurt — once.

    Two statements: one reads the code's household with the round and its projects, one
    stores the ballot, its approvals and its event together, only while the round is open (it
    holds the round's row, so closing waits for ballots in flight and then counts them) and
    only once per household (the pseudonym is the key)."""
    now = budget.clock()
    found = None
    if codes.looks_like_a_code(code):
        found = await conn.fetchrow(_HOLDER_AND_ROUND, codes.code_hash(code), round_id)
    if found is None:
        raise SupportRefusedError("unknown-code", UNKNOWN_CODE)
    if found["round_buurt"] is None or (found["round_municipality"], found["round_year"],
                                        found["round_buurt"]) != (
        found["municipality"], found["year"], found["buurt_code"],
    ):  # fmt: skip
        raise SupportRefusedError("not-found", "Deze stemronde bestaat niet voor uw buurt.")
    if found["status"] != "open":
        raise SupportRefusedError("closed", "Deze stemronde is gesloten.")
    choice = sorted(set(approved))
    known = {
        p["id"]: Project(p["id"], p["cost"], frozenset(p["categories"] or ()))
        for p in json.loads(found["projects"])
    }
    _check_ballot(choice, known, _ballot_rules(found))
    voter = codes.pseudonym(await budget.key(conn), f"round:{round_id}", found["household_id"])
    event = ev.BallotCast(round_id=round_id, buurt_code=found["buurt_code"], cast_at=now)
    is_open, is_new = await conn.fetchrow(
        _CAST + outbox_sql.insert_one(5) + " FROM ballot) SELECT EXISTS (SELECT FROM open),"
        " EXISTS (SELECT FROM ballot)",
        round_id, voter, now, choice, *outbox_sql.values(outbox.message(round_id, event, now)),
    )  # fmt: skip
    if not is_open:
        raise SupportRefusedError("closed", "Deze stemronde is gesloten.")
    if not is_new:
        raise SupportRefusedError(
            "used", "Deze code is al gebruikt: uw huishouden heeft in deze ronde al gestemd."
        )
    reporting.ballot_cast(round_id, found["buurt_code"])


_HOLDER_AND_ROUND = (
    "SELECT c.household_id::text, c.municipality, c.year, h.buurt_code, r.buurt_code AS"
    " round_buurt, r.municipality AS round_municipality, r.year AS round_year, r.status,"
    " r.min_length, r.max_length, r.max_sum_cost, r.meta::text,"
    " (SELECT coalesce(json_agg(json_build_object('id', p.project_id, 'cost', p.cost,"
    " 'categories', p.categories)), '[]') FROM round_projects p"
    " WHERE p.round_id = r.round_id)::text AS projects"
    " FROM voting_codes c JOIN households h USING (household_id)"
    " JOIN years y ON y.municipality = c.municipality AND y.year = c.year"
    " LEFT JOIN rounds r ON r.round_id = $2"
    " WHERE c.code_hash = $1 AND h.removed_at IS NULL AND y.status = 'open'"
)
_CAST = (
    "WITH open AS (SELECT round_id FROM rounds WHERE round_id = $1 AND status = 'open' FOR SHARE),"
    " ballot AS (INSERT INTO round_ballots (round_id, voter_id, cast_at) SELECT round_id, $2, $3"
    " FROM open ON CONFLICT DO NOTHING RETURNING round_id),"
    " approvals AS (INSERT INTO round_approvals (round_id, voter_id, project_id)"
    " SELECT b.round_id, $2, p FROM ballot b, unnest($4::text[]) AS p),"
    " logged AS ("
)


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
