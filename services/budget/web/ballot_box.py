"""The ballot box: concurrent ballots are gathered while the database is busy and cast together
(group commit), each answered on its own with its own result.

A ballot waits only while a flusher is storing an earlier batch: at a trickle each is cast alone
at once, in a burst the batches grow with the queue. A second flusher starts only once
`more_after` ballots wait: started for every ballot that arrives while one is busy, it cast a
fifth of the batches alone, four statements for one vote (0.60 -> 0.51 ms of the machine's CPU
per vote when it waits for 8).

A batch is a few statements whatever its size (the guard's reads, the holders, the store, the
guard's count of failures), on connections of its own that need no reset between batches:
nothing session-level is used on them. A ballot is answered only after the statement that
stored it committed; a batch that fails answers each of its ballots with that failure.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import asyncpg
from fastapi import Request

from services.budget import reporting
from services.budget.casting import Ballot, cast_many
from services.budget.handlers import Budget, SupportRefusedError
from services.budget.web.guard import GUESSES, STATUS, CodeGuard, Refusal
from wijkbus import db
from wijkbus.logging import get_logger
from wijkbus.networks import client_of

log = get_logger(__name__)
STOPPED = Refusal(503, "De stembus is even gesloten. Probeer het over een minuut opnieuw.", 60)


@dataclass
class _Waiting:
    ballot: Ballot
    client: str
    answer: asyncio.Future[Refusal | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


async def cast_ballot(request: Request, ballot: Ballot) -> Refusal | None:
    """Cast a resident's ballot through the app's ballot box, behind the code guard; None when
    it is stored."""
    box: BallotBox = request.app.state.ballot_box
    return await box.cast(ballot, client_of(request))


class BallotBox:
    """Casts ballots in batches on up to `flushers` connections of its own, at most `max_batch`
    each; another flusher starts when `more_after` ballots wait."""

    def __init__(
        self,
        budget: Budget,
        guard: CodeGuard,
        *,
        flushers: int = 2,
        max_batch: int = 200,
        more_after: int = 8,
    ) -> None:
        self.budget, self.guard = budget, guard
        self.flushers, self.max_batch, self.more_after = flushers, max_batch, more_after
        self._pool: asyncpg.Pool | None = None
        self._queue: list[_Waiting] = []
        self._running: set[asyncio.Task[None]] = set()
        self._busy = 0

    async def start(self, database_url: str, schema: str) -> None:
        """Open the box's own connections."""
        self._pool = await db.create_pool(
            database_url, schema, max_size=self.flushers, reset=False, generic_plans=True
        )

    async def stop(self) -> None:
        """Cast what is queued, then close; a ballot sent after this is refused (503)."""
        pool, self._pool = self._pool, None
        while self._running:
            await asyncio.gather(*self._running)
        if pool is not None:
            await pool.close()

    async def cast(self, ballot: Ballot, client: str) -> Refusal | None:
        """Cast one household's ballot; None when it is stored, else why not."""
        if self._pool is None:
            return STOPPED
        waiting = _Waiting(ballot, client)
        self._queue.append(waiting)
        if self._busy == 0 or (self._busy < self.flushers and len(self._queue) >= self.more_after):
            # A busy flusher casts what waits before it leaves. Counted here and uncounted by
            # the flusher itself the moment it finds the queue empty (no await between the two),
            # so a ballot queued meanwhile never waits for a flusher that has left.
            self._busy += 1
            task = asyncio.create_task(self._flush(self._pool))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return await waiting.answer

    async def _flush(self, pool: asyncpg.Pool) -> None:
        try:
            while self._queue:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                await self._answer(pool, batch)
        finally:
            self._busy -= 1

    async def _answer(self, pool: asyncpg.Pool, batch: list[_Waiting]) -> None:
        reporting.ballots_batched(len(batch))
        try:
            async with pool.acquire() as conn:
                answers = await self._cast_batch(conn, batch)
        except asyncpg.DataError as exc:
            if len(batch) == 1:
                raise_into(batch, exc)
                return
            # Text PostgreSQL cannot store (a NUL) fails a statement, and nothing of it was
            # stored: cast each ballot alone, so only the one that sent it gets the error.
            for w in batch:
                await self._answer(pool, [w])
            return
        except Exception as exc:  # every ballot of the batch is answered with the failure
            raise_into(batch, exc)
            return
        for w, answer in zip(batch, answers, strict=True):
            if not w.answer.done():
                w.answer.set_result(answer)

    async def _cast_batch(
        self, conn: asyncpg.Connection, batch: list[_Waiting]
    ) -> list[Refusal | None]:
        """The guard's waits, the ballots of the clients that need not wait, the failures."""
        waits = await self.guard.waits(conn, [(w.ballot.code, w.client) for w in batch])
        go = [w.ballot for w, wait in zip(batch, waits, strict=True) if not wait]
        cast = iter(await cast_many(self.budget, conn, go))
        answers: list[Refusal | None] = []
        guesses: list[tuple[str, str]] = []
        for w, wait in zip(batch, waits, strict=True):
            refused = None if wait else next(cast)
            if refused is not None and refused.kind in GUESSES:
                guesses.append((w.ballot.code, w.client))
            answers.append(_wait_refusal(wait) if wait else _refusal(refused))
        await self._count_failures(conn, guesses)
        return answers

    async def _count_failures(
        self, conn: asyncpg.Connection, guesses: list[tuple[str, str]]
    ) -> None:
        # The ballots are stored by now: a failure to count the guesses must not turn their
        # answers into errors (a client would try again and hear "used").
        try:
            await self.guard.failed_each(conn, guesses)
        except (asyncpg.PostgresError, OSError) as exc:
            log.error("code failures not counted", failures=len(guesses), error=type(exc).__name__)


def raise_into(batch: list[_Waiting], exc: BaseException) -> None:
    """Answer every ballot of `batch` that is still waiting with `exc`."""
    log.warning("ballot batch failed", ballots=len(batch), error=type(exc).__name__)
    for w in batch:
        if not w.answer.done():
            w.answer.set_exception(exc)


def _refusal(refused: SupportRefusedError | None) -> Refusal | None:
    return None if refused is None else Refusal(STATUS[refused.kind], refused.message)


def _wait_refusal(wait: int) -> Refusal:
    return Refusal(
        429, f"Te veel onjuiste of gebruikte codes. Probeer het over {wait} seconden weer.", wait
    )
