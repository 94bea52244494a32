"""The ballot box's flushers: a second starts only once `more_after` ballots wait, a busy one
casts what arrived meanwhile before it leaves, and no ballot is left waiting for a flusher."""

from __future__ import annotations

import asyncio
from typing import Any

from services.budget.casting import Ballot
from services.budget.web.ballot_box import BallotBox, _Waiting


class _Box(BallotBox):
    """A box whose batches are recorded and held until released, with no database."""

    def __init__(self, more_after: int) -> None:
        super().__init__(None, None, flushers=2, more_after=more_after)  # type: ignore[arg-type]
        self._pool = object()  # type: ignore[assignment]
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()

    async def _answer(self, pool: Any, batch: list[_Waiting]) -> None:
        self.batches.append([w.ballot.code for w in batch])
        await self.release.wait()
        for w in batch:
            w.answer.set_result(None)


def _cast(box: _Box, code: str) -> asyncio.Task[Any]:
    return asyncio.create_task(box.cast(Ballot(code, "r", ["p"]), "client"))


async def _turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_ballots_behind_a_busy_flusher_wait_for_it_and_go_in_one_batch() -> None:
    box = _Box(more_after=4)
    first = _cast(box, "a")
    await _turns()
    later = [_cast(box, c) for c in "bcd"]  # three waiting: fewer than more_after
    await _turns()
    assert box.batches == [["a"]]  # no second flusher for them
    box.release.set()
    assert await asyncio.gather(first, *later) == [None] * 4
    assert box.batches == [["a"], ["b", "c", "d"]]


async def test_a_second_flusher_starts_once_more_after_ballots_wait() -> None:
    box = _Box(more_after=3)  # "a" is being stored; b, c and d make three waiting
    first = _cast(box, "a")
    await _turns()
    later = [_cast(box, c) for c in "bcd"]
    await _turns()
    assert box.batches == [["a"], ["b", "c", "d"]]  # the second took them while the first stored
    box.release.set()
    assert await asyncio.gather(first, *later) == [None] * 4


async def test_a_ballot_after_the_flushers_left_gets_one_of_its_own() -> None:
    box = _Box(more_after=8)
    box.release.set()
    assert await _cast(box, "a") is None
    await _turns()
    assert box._busy == 0
    assert await _cast(box, "b") is None
    assert box.batches == [["a"], ["b"]]
