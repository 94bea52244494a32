"""The delivery worker: claims due deliveries in batches and sends many at once.

Order is kept per subject (services.notify.claims): a delivery waits only for the earlier
deliveries of its own subject, so one signal in backoff holds up nothing else. Each claimed send
runs as its own task, at most `concurrency` per instance and each subscription's `max_in_flight`
across instances; a finished send wakes the scheduler to claim the next, and so does a NOTIFY on
new deliveries; it also polls.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import asyncpg

from services.notify import claims
from services.notify.attempts import Attempts
from services.notify.store import DueDelivery
from wijkbus import db
from wijkbus.logging import get_logger

log = get_logger(__name__)


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
        poll_interval_s: float = 1.0,
        pool_size: int = 8,
    ) -> None:
        self._database_url = database_url
        self._schema = schema
        self._attempts = attempts
        self._lease = lease
        self._concurrency = concurrency
        self._poll = poll_interval_s
        self._pool_size = pool_size
        self._wake = asyncio.Event()
        self._pool: asyncpg.Pool | None = None
        self._scheduler: asyncio.Task[None] | None = None
        self._running: dict[asyncio.Task[None], tuple[DueDelivery, ...]] = {}

    async def start(self) -> None:
        """Open the worker's own connections and start scheduling."""
        # Its own pool, so sending never starves the API or the consumer. No connection is
        # held while a receiver answers: one is taken to claim, and one to record each answer.
        self._pool = await db.create_pool(
            self._database_url, self._schema, max_size=self._pool_size + 2
        )
        self._scheduler = asyncio.create_task(self._run(), name="notify-scheduler")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let attempts in flight finish (up to `grace_s`), then stop; pending rows stay queued
        and the leases of attempts cut short are given up, for the next instance."""
        if self._scheduler:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
        tasks = list(self._running)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            cut = [d.id for task in late for d in self._running.get(task, ())]
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            if cut and self._pool:
                with contextlib.suppress(Exception):
                    async with self._pool.acquire() as conn:
                        await claims.release(conn, cut)
        if self._pool:
            await self._pool.close()

    def _on_notify(self, *_: object) -> None:
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
                            wait_s = await self._dispatch()
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(self._wake.wait(), wait_s)
                    finally:
                        await listener.remove_listener(channel, self._on_notify)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("delivery scheduler failed, retrying", error=repr(exc))
                await asyncio.sleep(self._poll)

    async def _dispatch(self) -> float:
        """Claim what may go now and start sending it; seconds to wait before claiming again."""
        assert self._pool is not None
        free = self._concurrency - len(self._running)
        if free <= 0:
            return self._poll  # a finishing send wakes the scheduler
        now = self._attempts.clock()
        async with self._pool.acquire() as conn:
            claimed = await claims.claim(conn, now, self._lease, free)
            # Sends in flight wake the scheduler when they finish; with none, when will a
            # delivery in backoff be due?
            later = None if claimed.sends else await claims.next_due_in_s(conn, now)
        for send in claimed.sends:
            task = asyncio.create_task(self._send(send), name=f"notify-send-{send[0].id}")
            self._running[task] = send
        # Besides these, a finished send (its subject's next), a new delivery or an expired
        # lease makes more claimable: the first two wake the scheduler, the poll finds the last.
        waits = [w for w in (later, claimed.batch_due_in_s) if w is not None]
        return max(min([self._poll, *waits]), 0.005)

    async def _send(self, send: tuple[DueDelivery, ...]) -> None:
        assert self._pool is not None
        try:
            await self._attempts.run(self._pool, send)
        except Exception as exc:
            # The lease runs out and the send is claimed again: nothing is dropped.
            log.warning(
                "delivering failed, will retry",
                subscription_id=str(send[0].subscription_id),
                error=repr(exc),
            )
        finally:
            self._running.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
            self._wake.set()
