"""`verify`: walk intake's ledger acts and its event-log chain; name the first thing that fails.

The acts are checked first (numbered without gaps, chained, each signed by a trusted key), then
every sealed row in chain order: rows up to the signed cut-over under hash v1, later ones under
v2; a row without content must be accounted for by a signed redaction of exactly that row, at
its `redacted_at`; every checkpoint's row must still hold the hash it signed, and no checkpoint
may name a row beyond the chain's end. Given `now` and a maximum age, the newest checkpoint must
be that recent (or the final one of a clean shutdown at the chain's head): otherwise the newest
rows could have been removed with their checkpoints.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import asyncpg

from services.intake import chaining, ledger, trails
from services.intake.ledger_acts import (
    CHECKPOINT,
    CUTOVER,
    REDACTION,
    TRAIL_CHECKPOINT,
    Act,
    signature_holds,
)


@dataclass(frozen=True)
class Verification:
    """The outcome of walking the acts and the chain."""

    sealed: int
    unsealed: int
    head_position: int
    head_hash: str
    v1_rows: int = 0
    acts: int = 0
    checkpoints: int = 0
    newest_checkpoint: str | None = None
    cutover_signed: bool = True
    signed_by: tuple[str, ...] = ()
    broken_position: int | None = None
    broken_seq: int | None = None
    broken_act: int | None = None
    broken_trail: str | None = None
    problem: str | None = None
    trails: tuple[trails.Walked, ...] = ()

    @property
    def intact(self) -> bool:
        return self.problem is None


@dataclass
class _Acts:
    """What the acts say about the chain."""

    count: int = 0
    checkpoints: int = 0
    cutover: Act | None = None
    cutover_signed: bool = False
    vouched: dict[int, Act] | None = None  # chain row -> the first act that signed its hash
    trail_vouched: dict[str, dict[int, str]] = field(default_factory=dict)  # table -> row -> hash
    newest: Act | None = None
    keys: set[str] | None = None
    broken: int | None = None
    problem: str | None = None


async def _walk_acts(conn: asyncpg.Connection, trusted: Collection[str] | None) -> _Acts:
    found = _Acts(vouched={}, keys=set())
    assert found.vouched is not None and found.keys is not None
    prev: str | None = ledger.GENESIS
    query = "SELECT * FROM ledger_acts WHERE n > $1 ORDER BY n LIMIT $2"
    async for row in ledger.pages(conn, query, "n", 0):
        expected = found.count + 1
        act = Act(row["n"], row["kind"], row["position"], row["row_hash"], row["at"], row["detail"])
        problem = None
        if act.n != expected:
            problem = f"it is missing: the acts jump from {expected - 1} to {act.n}"
        elif (act.n == 1) != (act.kind == CUTOVER):
            problem = "act 1 must be the cut-over, and only act 1"
        elif row["act_hash"] is None and act.n == 1:
            pass  # migration 0005 wrote it; intake signs it when it first starts
        elif prev is None:
            problem = "it follows a cut-over that is not signed"
        elif row["act_hash"] is None or row["signature"] is None:
            problem = "it is not signed"
        elif row["prev_hash"] != prev:
            problem = "it does not link to the act before it"
        elif act.hash(prev) != row["act_hash"]:
            problem = "it was changed after it was signed"
        elif not signature_holds(row["public_key"], row["signature"], row["act_hash"]):
            problem = "its signature does not match it"
        elif trusted is not None and row["public_key"] not in trusted:
            problem = f"it is signed by {row['public_key']}, which is not a trusted ledger key"
        if problem is not None:
            found.broken, found.problem = expected, problem
            return found
        found.count = act.n
        prev = row["act_hash"]
        if row["public_key"]:
            found.keys.add(row["public_key"])
        if act.kind == CUTOVER:
            found.cutover, found.cutover_signed = act, row["act_hash"] is not None
        if act.kind in (CUTOVER, CHECKPOINT):
            earlier = found.vouched.setdefault(act.position, act)
            if earlier.row_hash != act.row_hash:
                found.broken = act.n
                found.problem = f"it contradicts act {earlier.n} about chain row {act.position}"
                return found
        if act.kind == TRAIL_CHECKPOINT:
            signed = found.trail_vouched.setdefault(act.detail, {})
            if signed.setdefault(act.position, act.row_hash) != act.row_hash:
                found.broken = act.n
                found.problem = (
                    f"it contradicts an earlier act about {act.detail} row {act.position}"
                )
                return found
        if act.kind == CHECKPOINT:
            found.newest = act
            found.checkpoints += 1
    return found


def _rows(conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Record]:
    """The sealed rows in chain order with the redaction act of each, in keyset pages."""
    return ledger.pages(
        conn,
        "SELECT e.seq, e.position, e.topic, e.key, e.value, e.signal_id, e.logged_at,"
        " e.redacted_at, e.content_hash, e.prev_hash, e.row_hash, a.n AS redaction,"
        " a.row_hash AS removed, a.at AS removed_at"
        f" FROM event_log e LEFT JOIN ledger_acts a ON a.kind = '{REDACTION}'"
        " AND a.position = e.position WHERE e.position > $1 ORDER BY e.position LIMIT $2",
        "position",
        0,
    )


def _content(row: asyncpg.Record, v1: bool) -> tuple[str | None, str | None]:
    """The content hash the row must have, or why it cannot have one."""
    value, act = row["value"], row["redaction"]
    if value is not None:
        if act is not None:
            return None, f"redaction act {act} removed its content, yet it holds content again"
        if row["redacted_at"] is not None:
            return None, "it is marked redacted without a signed redaction act"
        if v1:
            return ledger.content_hash_v1(row["topic"], row["key"], bytes(value)), None
        digest = ledger.value_hash(bytes(value))
    else:
        if act is None:
            return None, "its content was removed by hand: no signed redaction act records it"
        if not v1 and row["redacted_at"] != row["removed_at"]:
            return None, f"its redacted_at is not the time redaction act {act} signed"
        if v1:
            return row["removed"], None
        digest = row["removed"]
    return ledger.content_hash(
        row["topic"], row["key"], row["signal_id"], row["logged_at"], digest
    ), None


def _changed(row: asyncpg.Record) -> str:
    """Why a v2 row's content hash fails: a relabelled signal, or a changed content."""
    if row["value"] is not None:
        subject = json.loads(bytes(row["value"])).get("subject")
        digest = ledger.value_hash(bytes(row["value"]))
        sealed_as = ledger.content_hash(row["topic"], row["key"], subject, row["logged_at"], digest)
        if subject != str(row["signal_id"]) and sealed_as == row["content_hash"]:
            return (
                f"its signal_id was changed after it was sealed: it says {row['signal_id']},"
                f" its event is about {subject}"
            )
    return "its content was changed after it was sealed"


async def verify(
    conn: asyncpg.Connection,
    trusted: Collection[str] | None = None,
    now: datetime | None = None,
    max_checkpoint_age: timedelta | None = None,
) -> Verification:
    """Walk the acts, then the chain; stop at the first act or row that does not hold.

    `trusted`: the ledger public keys acts must be signed by (None: any key that signed them,
    which only shows that nobody without *a* key edited them). `now` and `max_checkpoint_age`:
    how recent the newest checkpoint must be (None: not checked).
    """
    acts = await _walk_acts(conn, trusted)
    vouched = acts.vouched or {}
    v1_rows = acts.cutover.position if acts.cutover else 0
    result = Verification(
        sealed=0,
        unsealed=0,
        head_position=0,
        head_hash=ledger.GENESIS,
        v1_rows=v1_rows,
        acts=acts.count,
        checkpoints=acts.checkpoints,
        newest_checkpoint=_describe(acts.newest) if acts.newest else None,
        cutover_signed=acts.cutover_signed,
        signed_by=tuple(sorted(acts.keys or ())),
    )
    if acts.problem is not None:
        return replace(
            result, unsealed=await _unsealed(conn), broken_act=acts.broken, problem=acts.problem
        )
    expected, prev = 0, ledger.GENESIS
    async for row in _rows(conn):
        expected += 1
        problem, broken_seq = None, row["seq"]
        content, problem = _content(row, row["position"] <= v1_rows)
        if row["position"] != expected:
            problem = f"it is missing: the chain jumps from {expected - 1} to {row['position']}"
            broken_seq = None
            if row["position"] == expected - 1:
                problem = "it has more than one redaction act"
        elif problem is not None:
            pass
        elif content != row["content_hash"]:
            v1 = row["position"] <= v1_rows
            problem = "its content was changed after it was sealed" if v1 else _changed(row)
        elif row["prev_hash"] != prev:
            problem = "it does not link to the row before it"
        elif row["row_hash"] != chaining.row_hash(row["position"], prev, content or ""):
            problem = "its chain hash does not match its content and place"
        elif (act := vouched.get(expected)) and act.row_hash != row["row_hash"]:
            problem = f"its chain hash is not the one act {act.n} ({act.kind}) signed: rewritten"
        if problem is not None:
            return replace(
                result,
                sealed=expected - 1,
                unsealed=await _unsealed(conn),
                head_position=expected - 1,
                head_hash=prev,
                broken_position=expected,
                broken_seq=broken_seq,
                problem=problem,
            )
        prev = row["row_hash"]
    result = replace(
        result,
        sealed=expected,
        unsealed=await _unsealed(conn),
        head_position=expected,
        head_hash=prev,
    )
    result = _beyond_the_end(result, vouched, now, max_checkpoint_age, acts.newest)
    if not result.intact:
        return result
    return await _walk_trails(conn, result, acts.trail_vouched)


async def _walk_trails(
    conn: asyncpg.Connection, result: Verification, vouched: dict[str, dict[int, str]]
) -> Verification:
    """Each trail's chain after the event log's; the first that breaks is the problem."""
    walked = []
    for trail in trails.TRAILS:
        found = await trails.walk(conn, trail, vouched.get(trail.table, {}))
        walked.append(found)
        if found.problem is not None:
            return replace(
                result,
                trails=tuple(walked),
                broken_trail=trail.table,
                broken_position=found.broken_position,
                problem=found.problem,
            )
    return replace(result, trails=tuple(walked))


def _beyond_the_end(
    result: Verification,
    vouched: dict[int, Act],
    now: datetime | None,
    max_age: timedelta | None,
    newest: Act | None,
) -> Verification:
    """The checks that find rows removed from the chain's end."""
    head = result.head_position
    for position, act in sorted(vouched.items()):
        if position > head:
            return replace(
                result,
                broken_act=act.n,
                problem=f"{_describe(act)} vouches for chain row {position}, but the chain ends"
                f" at row {head}: its newest rows were removed",
            )
    if now is None or max_age is None:
        return result
    if newest is None:
        return replace(
            result, problem="no checkpoint at all: intake has never signed the chain's head"
        )
    clean_stop = newest.detail == "shutdown" and newest.position == head
    if now - newest.at > max_age and not clean_stop:
        return replace(
            result,
            broken_act=newest.n,
            problem=f"the newest checkpoint, {_describe(newest)}, is older than {max_age}:"
            " intake stopped without a final checkpoint, or newer rows were removed with"
            " their checkpoints",
        )
    return result


def _describe(act: Act) -> str:
    return f"act {act.n} ({act.kind} of chain row {act.position} at {act.at.isoformat()})"


async def _unsealed(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM event_log WHERE position IS NULL"))
