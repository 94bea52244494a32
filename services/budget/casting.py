"""Casting approval ballots: many at once in two set-based statements, each judged on its own.

One statement reads every ballot's household with its round and the round's projects; one
stores the accepted ballots, their approvals and their events together, only while their round
is open (it holds the rounds' rows, so closing waits for ballots in flight and then counts
them) and only once per household (the pseudonym is the key). A ballot is accepted only when
that statement has committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg

from contracts import events as ev
from services.budget import codes, pabulib_meta, reporting
from services.budget import events as outbox
from services.budget.domain import Project
from services.budget.domain.ballot_rules import BallotRules, ballot_breaches
from services.budget.handlers import UNKNOWN_CODE, Budget, SupportRefusedError
from wijkbus import outbox as outbox_sql


@dataclass(frozen=True)
class Ballot:
    """A household's approval ballot as it was sent: its code, the round, the projects."""

    code: str
    round_id: str
    approved: list[str]


@dataclass(frozen=True)
class _Judged:
    n: int
    round_id: str
    buurt_code: str
    voter: str
    choice: list[str]


CLOSED = "Deze stemronde is gesloten."
USED = "Deze code is al gebruikt: uw huishouden heeft in deze ronde al gestemd."


async def cast_many(
    budget: Budget, conn: asyncpg.Connection, ballots: list[Ballot]
) -> list[SupportRefusedError | None]:
    """Cast several households' ballots at once; per ballot None (accepted) or its refusal."""
    now = budget.clock()
    found = await _holders(conn, ballots)
    key = await budget.key(conn) if found else b""
    results, judged, repeats = _judge_all(ballots, found, key)
    stored = await _store(conn, judged, now)
    for j in judged:
        results[j.n] = _refusal(*stored[j.n])
        if results[j.n] is None:
            reporting.ballot_cast(j.round_id, j.buurt_code)
    for n, first in repeats.items():  # the same household again: stored once, this one "used"
        results[n] = results[first] or SupportRefusedError("used", USED)
    return results


def _judge_all(
    ballots: list[Ballot], found: dict[int, asyncpg.Record], key: bytes
) -> tuple[list[SupportRefusedError | None], list[_Judged], dict[int, int]]:
    """The refusals found before storing, the ballots to store (each household once per round)
    and the repeats among them (ballot number → the number of the household's first)."""
    results: list[SupportRefusedError | None] = [None] * len(ballots)
    judged: dict[tuple[str, str], _Judged] = {}
    repeats: dict[int, int] = {}
    for n, ballot in enumerate(ballots):
        try:
            j = _judge(n, ballot, found.get(n), key)
        except SupportRefusedError as refusal:
            results[n] = refusal
            continue
        if (first := judged.setdefault((j.round_id, j.voter), j)) is not j:
            repeats[n] = first.n
    return results, list(judged.values()), repeats


def _refusal(is_open: bool, is_new: bool) -> SupportRefusedError | None:
    if not is_open:
        return SupportRefusedError("closed", CLOSED)
    if not is_new:
        return SupportRefusedError("used", USED)
    return None


def _judge(n: int, ballot: Ballot, found: asyncpg.Record | None, key: bytes) -> _Judged:
    """Whether the ballot may be stored: a known code of the round's buurt, an open round and
    projects the round's rules allow; the household's pseudonym in this round."""
    if found is None:
        raise SupportRefusedError("unknown-code", UNKNOWN_CODE)
    if found["round_buurt"] is None or (found["round_municipality"], found["round_year"],
                                        found["round_buurt"]) != (
        found["municipality"], found["year"], found["buurt_code"],
    ):  # fmt: skip
        raise SupportRefusedError("not-found", "Deze stemronde bestaat niet voor uw buurt.")
    if found["status"] != "open":
        raise SupportRefusedError("closed", CLOSED)
    choice = sorted(set(ballot.approved))
    known = {
        p["id"]: Project(p["id"], p["cost"], frozenset(p["categories"] or ()))
        for p in json.loads(found["projects"])
    }
    _check_ballot(choice, known, _ballot_rules(found))
    voter = codes.pseudonym(key, f"round:{ballot.round_id}", found["household_id"])
    return _Judged(n, ballot.round_id, found["buurt_code"], voter, choice)


async def _holders(conn: asyncpg.Connection, ballots: list[Ballot]) -> dict[int, asyncpg.Record]:
    """Each ballot's household with its round, by the ballot's place; codes that cannot be one
    are not looked up."""
    asked = [(n, b) for n, b in enumerate(ballots) if codes.looks_like_a_code(b.code)]
    if not asked:
        return {}
    rows = await conn.fetch(
        _HOLDERS_AND_ROUNDS,
        [n for n, _ in asked],
        [codes.code_hash(b.code) for _, b in asked],
        [b.round_id for _, b in asked],
    )
    return {r["n"]: r for r in rows}


async def _store(
    conn: asyncpg.Connection, judged: list[_Judged], now: datetime
) -> dict[int, tuple[bool, bool]]:
    """Store the ballots whose round is open and whose household has not voted in it; per
    ballot whether its round was open and whether it is new."""
    if not judged:
        return {}
    messages = [outbox_sql.values(outbox.message(j.round_id, _event(j, now), now)) for j in judged]
    columns: list[list[Any]] = [list(c) for c in zip(*messages, strict=True)]
    approvals = [(j.n, p) for j in judged for p in j.choice]
    rows = await conn.fetch(
        _STORE,
        [j.n for j in judged],
        [j.round_id for j in judged],
        [j.voter for j in judged],
        now,
        [n for n, _ in approvals],
        [p for _, p in approvals],
        *columns,
    )
    return {r["n"]: (r["is_open"], r["is_new"]) for r in rows}


def _event(j: _Judged, now: datetime) -> ev.BallotCast:
    return ev.BallotCast(round_id=j.round_id, buurt_code=j.buurt_code, cast_at=now)


_HOLDERS_AND_ROUNDS = (
    "WITH asked AS (SELECT * FROM unnest($1::int[], $2::bytea[], $3::text[])"
    " AS a(n, code_hash, round_id)),"
    " projects AS (SELECT p.round_id, json_agg(json_build_object('id', p.project_id,"
    " 'cost', p.cost, 'categories', p.categories))::text AS projects FROM round_projects p"
    " WHERE p.round_id = ANY($3::text[]) GROUP BY p.round_id)"
    " SELECT a.n, c.household_id::text, c.municipality, c.year, h.buurt_code, r.buurt_code AS"
    " round_buurt, r.municipality AS round_municipality, r.year AS round_year, r.status,"
    " r.min_length, r.max_length, r.max_sum_cost, r.meta::text,"
    " coalesce(p.projects, '[]') AS projects"
    " FROM asked a JOIN voting_codes c USING (code_hash) JOIN households h USING (household_id)"
    " JOIN years y ON y.municipality = c.municipality AND y.year = c.year"
    " LEFT JOIN rounds r ON r.round_id = a.round_id LEFT JOIN projects p ON p.round_id = r.round_id"
    " WHERE h.removed_at IS NULL AND y.status = 'open'"
)
# The rounds are held in one order (by id), so two batches and a closing never wait in a circle.
# Rows are found by `= ANY(array)` (an index scan in any plan): the statement runs on connections
# that plan it once, before the sizes of a batch or of the tables are known (ballot_box).
_STORE = (
    "WITH cast_ AS (SELECT * FROM unnest($1::int[], $2::text[], $3::text[])"
    " AS c(n, round_id, voter_id)),"
    " open AS (SELECT round_id FROM rounds WHERE round_id = ANY($2::text[])"
    " AND status = 'open' ORDER BY round_id FOR SHARE),"
    " ballot AS (INSERT INTO round_ballots (round_id, voter_id, cast_at)"
    " SELECT c.round_id, c.voter_id, $4 FROM cast_ c JOIN open USING (round_id) ORDER BY c.n"
    " ON CONFLICT DO NOTHING RETURNING round_id, voter_id),"
    " stored AS (SELECT c.n, c.round_id, c.voter_id FROM cast_ c JOIN ballot USING"
    " (round_id, voter_id)),"
    " approvals AS (INSERT INTO round_approvals (round_id, voter_id, project_id)"
    " SELECT s.round_id, s.voter_id, a.project_id FROM stored s"
    " JOIN unnest($5::int[], $6::text[]) AS a(n, project_id) USING (n)),"
    " logged AS (INSERT INTO outbox (topic, key, value, headers, subject)"
    " SELECT m.topic, m.key, m.value, m.headers::jsonb, m.subject FROM unnest($1::int[],"
    " $7::text[], $8::bytea[], $9::bytea[], $10::text[], $11::text[])"
    " AS m(n, topic, key, value, headers, subject) JOIN stored USING (n) ORDER BY m.n)"
    " SELECT c.n, c.round_id IN (SELECT round_id FROM open) AS is_open,"
    " c.n IN (SELECT n FROM stored) AS is_new FROM cast_ c"
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
