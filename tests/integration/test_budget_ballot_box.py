"""A burst of ballots is cast in batches: each still answered on its own, once per household."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import REGISTRY

from services.budget.casting import Ballot
from services.budget.web.ballot_box import STOPPED, BallotBox
from tests.integration.test_budget_ballots import open_round, vote
from tests.integration.test_budget_support import OPERATOR, Buurt, running_buurt

UNKNOWN = "0000-0000-0000-0000-0000-0000-00"


def _batches() -> tuple[float, float]:
    """How many batches the ballot boxes cast, and how many ballots were in them."""
    name = "wijkbus_budget_ballot_batch_size"
    count = REGISTRY.get_sample_value(f"{name}_count") or 0.0
    return count, REGISTRY.get_sample_value(f"{name}_sum") or 0.0


@asynccontextmanager
async def voting(
    database_url: str, kafka: str, households: int, *rounds: str
) -> AsyncIterator[Buurt]:
    """A buurt of `households` with these rounds open; mistakes are not rate-limited here."""
    async with running_buurt(
        database_url, kafka, households=households, rule="vote", code_failures_burst=1000
    ) as b:
        for round_id in rounds:
            await open_round(b, round_id)
        yield b


async def test_a_burst_is_stored_once_per_household_and_every_ballot_hears_its_own_answer(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with voting(fresh_database, kafka_bootstrap, 60, "burst") as b:
        good, twice, bad = b.codes[:50], b.codes[:10], b.codes[50:]
        sent = (
            [vote(b, code, "burst", "bomen") for code in good]
            + [vote(b, code, "burst", "bankjes") for code in twice]
            + [vote(b, code, "burst", "zwembad") for code in bad[:5]]  # not on the ballot
            + [vote(b, code, "burst", "bomen", "bankjes", "geveltuin") for code in bad[5:]]
            + [vote(b, UNKNOWN, "burst", "bomen"), vote(b, b.other_codes[0], "burst", "bomen")]
        )
        before = _batches()
        statuses = await asyncio.gather(*sent)
        batches, ballots_in_them = (a - b for a, b in zip(_batches(), before, strict=True))

        assert ballots_in_them == len(sent) and batches < len(sent)  # gathered, none twice
        # A household's two ballots raced: one of them is stored, the other answered 409.
        pairs = [sorted((statuses[n], statuses[50 + n])) for n in range(10)]
        assert pairs == [[201, 409]] * 10
        assert statuses[10:50] == [201] * 40
        assert statuses[60:] == [400] * 10 + [403, 404]
        ballots = await b.fetch("SELECT voter_id FROM round_ballots WHERE round_id = 'burst'")
        approvals = await b.fetch(
            "SELECT count(*) AS n FROM round_approvals WHERE round_id = 'burst'"
        )
        events = await b.fetch(
            "SELECT count(*) AS n FROM outbox WHERE key = convert_to('burst', 'UTF8')"
        )
        assert len({r["voter_id"] for r in ballots}) == len(ballots) == 50
        assert approvals[0]["n"] == 50
        assert events[0]["n"] == 50


async def test_one_batch_over_an_open_and_a_closed_round_answers_each_by_its_round(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with voting(fresh_database, kafka_bootstrap, 30, "open", "closing") as b:
        closed = await b.http.post("/api/v1/rounds/closing/close", headers=OPERATOR)
        assert closed.status_code == 200
        statuses = await asyncio.gather(
            *(vote(b, code, "open" if n % 2 else "closing", "bomen")
              for n, code in enumerate(b.codes))
        )  # fmt: skip
        assert statuses == [409, 201] * 15
        counted = await b.fetch("SELECT round_id, count(*) AS n FROM round_ballots GROUP BY 1")
        assert [tuple(r) for r in counted] == [("open", 15)]


async def test_text_postgresql_cannot_store_fails_only_the_ballot_that_sent_it(
    fresh_database: str, kafka_bootstrap: str
) -> None:
    async with voting(fresh_database, kafka_bootstrap, 20, "nul") as b:
        statuses = await asyncio.gather(
            *(vote(b, code, "nul\x00" if n == 7 else "nul", "bomen")
              for n, code in enumerate(b.codes))
        )  # fmt: skip
        assert statuses == [201] * 7 + [400] + [201] * 12
        ballots = await b.fetch("SELECT count(*) AS n FROM round_ballots WHERE round_id = 'nul'")
        assert ballots[0]["n"] == 19


async def test_a_ballot_sent_after_the_box_closed_is_answered_503_not_lost() -> None:
    box = BallotBox(budget=None, guard=None)  # type: ignore[arg-type]  # never reached
    assert await box.cast(Ballot(UNKNOWN, "r", ["p"]), "203.0.113.9") == STOPPED
