"""The delivery worker: claims due deliveries in batches and sends many at once.

Order is kept per subject (services.notify.claims): a delivery waits only for the earlier
deliveries of its own subject, so one signal in backoff holds up nothing else. Each claimed send
runs as its own task, at most `concurrency` per instance and each subscription's `max_in_flight`
at once, across instances. The scheduler claims ahead (`ahead` sends more per subscription while
no other instance holds its leases) into a local queue, so a finished send is followed by the
next at once, not after a claim's round trips; single answers are recorded write-behind
(services.notify.answers), which frees their leases and wakes the scheduler to claim more; so
does a NOTIFY on new deliveries; it also polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter, deque
from datetime import timedelta

import asyncpg

from services.notify import claims
from services.notify.answers import WriteBehind
from services.notify.attempts import Attempts
from services.notify.store import DueDelivery
from wijkbus import db
from wijkbus.logging import get_logger

log = get_logger(__name__)

Send = tuple[DueDelivery, ...]


class DeliveryWorker:
    """Delivers pending deliveries in the background, from `start()` until `stop()`."""

    def __init__(
        self,
        *,
        database_url: str,
        schema: str,
        attempts: Attempts,
        lease: timedelta,
        concurrency: int = 64,
        ahead: int = 56,
        poll_interval_s: float = 1.0,
        pool_size: int = 8,
    ) -> None:
        self._database_url = database_url
        self._schema = schema
        self._attempts = attempts
        self._lease = lease
        self._concurrency = concurrency
        self._ahead = ahead
        self._refill = max(1, ahead // 4)
        self._poll = poll_interval_s
        self._pool_size = pool_size
        self._id = uuid.uuid4()  # this run's leases (services.notify.claims)
        self._wake = asyncio.Event()
        self._pool: asyncpg.Pool | None = None
        self._scheduler: asyncio.Task[None] | None = None
        self._answers: WriteBehind | None = None
        self._recorder: asyncio.Task[None] | None = None
        self._queue: deque[tuple[float, Send]] = deque()  # claimed (when), not yet sending
        self._running: dict[asyncio.Task[None], Send] = {}
        self._sending: Counter[uuid.UUID] = Counter()  # per subscription
        self._held = 0  # sends leased here: queued, sending, or their answer not yet recorded
        self._releasing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open the worker's own connections and start scheduling."""
        # Its own pool, so sending never starves the API or the consumer. No connection is
        # held while a receiver answers: the scheduler claims on the one it listens on, and one
        # is taken to record answers.
        self._pool = await db.create_pool(
            self._database_url, self._schema, max_size=self._pool_size + 2
        )
        self._answers = WriteBehind(self._pool, self._recorded)
        self._recorder = asyncio.create_task(self._answers.run(), name="notify-answers")
        self._scheduler = asyncio.create_task(self._run(), name="notify-scheduler")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let attempts in flight finish (up to `grace_s`) and record their answers, then stop;
        pending rows stay queued and the leases of sends not finished are given up, for the
        next instance."""
        if self._scheduler:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
        cut = [d.id for _, send in self._queue for d in send]
        self._queue.clear()
        tasks = list(self._running)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            cut += [d.id for task in late for d in self._running.get(task, ())]
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._answers and self._recorder:
            self._answers.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._recorder, grace_s)
            await self._answers.flush()
        if cut and self._pool:
            with contextlib.suppress(Exception):
                async with self._pool.acquire() as conn:
                    await claims.release(conn, cut)
        if self._pool:
            await self._pool.close()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    def _recorded(self, sends: int) -> None:
        """Answers were recorded: their leases are free, their subjects' next may go."""
        self._held -= sends
        self._wake.set()

    async def _run(self) -> None:
        assert self._pool is not None
        channel = f"{self._schema}_deliveries"
        while True:
            try:
                async with self._pool.acquire() as listener:
                    await listener.add_listener(channel, self._on_notify)
                    try:
                        while True:
                            self._wake.clear()
                            wait_s = await self._dispatch(listener)
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(self._wake.wait(), wait_s)
                    finally:
                        await listener.remove_listener(channel, self._on_notify)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("delivery scheduler failed, retrying", error=repr(exc))
                await asyncio.sleep(self._poll)

    async def _dispatch(self, conn: asyncpg.Connection) -> float:
        """Claim what may go now into the queue (on the scheduler's own connection) and start
        sending; seconds to wait before claiming again."""
        free = self._concurrency + self._ahead - self._held
        # With sends still queued, a claim waits until it can take a few: claiming after every
        # recorded answer cost a tenth of notify's time under load.
        if free <= 0 or (self._queue and free < self._refill):
            return self._poll  # recorded answers wake the scheduler
        now = self._attempts.clock()
        claimed = await claims.claim(conn, now, self._lease, free, self._id, self._ahead)
        # Answers to record wake the scheduler when they are; with none held, when will a
        # delivery in backoff be due?
        idle = not claimed.sends and not self._held
        later = await claims.next_due_in_s(conn, now) if idle else None
        self._held += len(claimed.sends)
        self._queue.extend((time.monotonic(), send) for send in claimed.sends)
        self._start()
        # Besides these, a recorded answer (its subject's next), a new delivery or an expired
        # lease makes more claimable: the first two wake the scheduler, the poll finds the last.
        waits = [w for w in (later, claimed.batch_due_in_s) if w is not None]
        return max(min([self._poll, *waits]), 0.005)

    def _start(self) -> None:
        """Start queued sends, in the order claimed, as far as the bounds allow; one queued
        for half its lease (a slow receiver) is given up, before another instance may take it."""
        kept: deque[tuple[float, Send]] = deque()
        stale: list[int] = []
        oldest = time.monotonic() - self._lease.total_seconds() / 2
        while self._queue and len(self._running) < self._concurrency:
            claimed_at, send = self._queue.popleft()
            head = send[0]
            if claimed_at < oldest:
                stale += [d.id for d in send]
                self._held -= 1
                continue
            if self._sending[head.subscription_id] >= head.max_in_flight:
                kept.append((claimed_at, send))
                continue
            self._sending[head.subscription_id] += 1
            task = asyncio.create_task(self._send(send), name=f"notify-send-{head.id}")
            self._running[task] = send
        kept.extend(self._queue)
        self._queue = kept
        if stale:
            task = asyncio.create_task(self._release(stale), name="notify-release")
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)

    async def _release(self, ids: list[int]) -> None:
        assert self._pool is not None
        try:
            async with self._pool.acquire() as conn:
                await claims.release(conn, ids)
        except Exception as exc:  # their leases run out instead
            log.warning("giving up leases failed", error=repr(exc))
        self._wake.set()

    async def _send(self, send: Send) -> None:
        assert self._pool is not None and self._answers is not None
        handed = False
        try:
            handed = await self._attempts.run(self._pool, send, self._answers.add)
        except Exception as exc:
            # The lease runs out and the send is claimed again: nothing is dropped.
            log.warning(
                "delivering failed, will retry",
                subscription_id=str(send[0].subscription_id),
                error=repr(exc),
            )
        finally:
            self._running.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
            sub = send[0].subscription_id
            self._sending[sub] -= 1
            if not self._sending[sub]:
                del self._sending[sub]
            if not handed:  # recorded already (or left to its lease)
                self._recorded(1)
            self._start()
