"""The delivery worker: every subscription's queue in order, different subscriptions in parallel.

A scheduler finds subscriptions whose oldest pending delivery is due and starts one task per
subscription (at most `concurrency` at a time). A task holds a PostgreSQL advisory lock on its
subscription while it sends, so two notify instances never deliver for one subscription at once,
and it sends only the head of the queue, so a subscription's next delivery waits for the previous
one. A NOTIFY on new deliveries wakes the scheduler; it also polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from datetime import datetime

import asyncpg
from prometheus_client import Counter, Histogram

from services.notify import domain, signatures, store
from services.notify.crypto import SecretBox, SecretBoxError
from services.notify.initiators import ContactGone, ContactUnavailable, InitiatorContacts
from services.notify.mail import MailRenderer, MailSender
from services.notify.webhook import WebhookSender
from wijkbus import db
from wijkbus.logging import bound, get_logger

log = get_logger(__name__)

DELIVERY_ATTEMPTS = Counter(
    "wijkbus_notify_delivery_attempts_total", "Webhook attempts by verdict", ["verdict"]
)
DELIVERY_LATENCY = Histogram(
    "wijkbus_notify_delivery_latency_seconds", "Time a subscriber took to answer a webhook"
)
_LOCK_SPACE = "notify.deliveries"
_PER_TURN = 100  # deliveries a task sends before it gives its slot to another subscription


def lock_key(subscription_id: uuid.UUID) -> int:
    """The advisory-lock key of a subscription (a signed 32-bit int)."""
    return int.from_bytes(subscription_id.bytes[:4], "big", signed=True)


class DeliveryWorker:
    """Delivers pending deliveries in the background, from `start()` until `stop()`."""

    def __init__(
        self,
        *,
        database_url: str,
        schema: str,
        box: SecretBox,
        sender: WebhookSender,
        mailer: MailSender,
        renderer: MailRenderer,
        policy: domain.RetryPolicy,
        clock: Callable[[], datetime],
        contacts: InitiatorContacts | None = None,
        concurrency: int = 16,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._database_url = database_url
        self._schema = schema
        self._box = box
        self._sender = sender
        self._mailer = mailer
        self._renderer = renderer
        self._contacts = contacts
        self._policy = policy
        self._clock = clock
        self._concurrency = concurrency
        self._poll = poll_interval_s
        self._wake = asyncio.Event()
        self._pool: asyncpg.Pool | None = None
        self._scheduler: asyncio.Task[None] | None = None
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._cooldown: dict[uuid.UUID, float] = {}
        self._stopping = False

    async def start(self) -> None:
        """Open the worker's own connections and start scheduling."""
        # Its own pool: a slow subscriber holds a connection while it is being sent to, and
        # must not starve the API or the consumer.
        self._pool = await db.create_pool(
            self._database_url, self._schema, max_size=self._concurrency + 2
        )
        self._stopping = False
        self._scheduler = asyncio.create_task(self._run(), name="notify-scheduler")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let attempts in flight finish (up to `grace_s`), then stop; pending rows stay queued."""
        self._stopping = True
        if self._scheduler:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
        tasks = list(self._running.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
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
        """Start a task for each subscription whose head is due; seconds until the next is."""
        now, tick = self._clock(), time.monotonic()
        self._cooldown = {k: until for k, until in self._cooldown.items() if until > tick}
        wait_s = self._poll
        for row in await store.queue_heads(conn):
            sub_id: uuid.UUID = row["subscription_id"]
            due_in = (row["next_attempt_at"] - now).total_seconds()
            if due_in > 0:
                wait_s = min(wait_s, due_in)
                continue
            if sub_id in self._running or self._cooldown.get(sub_id, 0) > tick:
                continue
            if len(self._running) >= self._concurrency:
                break  # a finishing task wakes the scheduler again
            self._running[sub_id] = asyncio.create_task(
                self._drain(sub_id), name=f"notify-deliver-{sub_id}"
            )
        return max(wait_s, 0.01)

    async def _drain(self, sub_id: uuid.UUID) -> None:
        """Send the subscription's due deliveries one by one, oldest first."""
        assert self._pool is not None
        try:
            async with self._pool.acquire() as conn:
                key = lock_key(sub_id)
                locked = await conn.fetchval(
                    "SELECT pg_try_advisory_lock(hashtext($1), $2)", _LOCK_SPACE, key
                )
                if not locked:
                    # Another notify instance is sending for this subscription right now.
                    self._cooldown[sub_id] = time.monotonic() + self._poll
                    return
                try:
                    for _ in range(_PER_TURN):
                        delivery = await store.head(conn, sub_id)
                        if (
                            self._stopping
                            or delivery is None
                            or delivery.next_attempt_at > self._clock()
                        ):
                            break
                        await self._deliver(conn, delivery)
                finally:
                    await conn.execute(
                        "SELECT pg_advisory_unlock(hashtext($1), $2)", _LOCK_SPACE, key
                    )
        except Exception as exc:
            log.warning(
                "delivering failed, will retry", subscription_id=str(sub_id), error=repr(exc)
            )
            self._cooldown[sub_id] = time.monotonic() + self._poll
        finally:
            self._running.pop(sub_id, None)
            self._wake.set()

    async def _attempt(self, delivery: store.DueDelivery) -> domain.AttemptResult:
        """One try over the subscription's channel: a webhook POST or an e-mail."""
        sub = delivery.subscription_id
        if delivery.channel in ("email", "initiator"):
            return await self._mail(delivery)
        assert delivery.callback_url is not None
        assert delivery.authorization_enc is not None and delivery.signing_secret_enc is not None
        try:
            authorization = self._box.open(delivery.authorization_enc, f"{sub}:auth")
            secret = self._box.open(delivery.signing_secret_enc, f"{sub}:signing")
        except SecretBoxError as exc:
            return domain.AttemptResult(None, 0, error=f"{exc} (was NOTIFY_SECRET_KEY changed?)")
        message_id = signatures.message_id(sub, delivery.event_id)
        # A notificatie is plain JSON (the Notificaties API); the other webhooks CloudEvents.
        kind = "application/json" if delivery.channel == "notificaties" else None
        return await self._sender.post(
            delivery.callback_url,
            authorization,
            secret,
            delivery.body,
            message_id,
            content_type=kind,
            binary=delivery.content_mode == "binary",
        )

    async def _mail(self, delivery: store.DueDelivery) -> domain.AttemptResult:
        """The Dutch mail for the event: to the subscription's mailbox, or to the initiative's
        initiator at the address budget gives now (kept nowhere, not even in an error)."""
        try:
            mail = self._renderer.render(delivery.body)
        except Exception as exc:  # a template that cannot render this event: retry, then dead
            return domain.AttemptResult(None, 0, error=f"mail not rendered: {exc!r}"[:500])
        if delivery.channel == "email":
            assert delivery.email_address is not None
            to = delivery.email_address
        elif self._contacts is None:
            return domain.AttemptResult(None, 0, error="no budget to ask for initiators")
        else:
            try:
                to = await self._contacts.address(delivery.body)
            except ContactGone as exc:
                return domain.AttemptResult(None, 0, error=f"{_GONE}: {exc}")
            except ContactUnavailable as exc:
                return domain.AttemptResult(None, 0, error=str(exc))
        key = f"{delivery.subscription_id}|{delivery.event_id}"
        result = await self._mailer.send(to, mail, key=key, event_id=delivery.event_id)
        if result.error and delivery.channel == "initiator":  # an SMTP answer may quote it
            error = result.error.replace(to, "<initiatiefnemer>")
            return domain.AttemptResult(result.status_code, result.latency_ms, error=error)
        return result

    async def _deliver(self, conn: asyncpg.Connection, delivery: store.DueDelivery) -> None:
        """One attempt at the head delivery, recorded with its consequence in one transaction."""
        sub = delivery.subscription_id
        attempt = delivery.attempts + 1
        with bound(event_id=delivery.event_id):
            result = await self._attempt(delivery)
            if result.error and result.error.startswith((_UNREADABLE, _GONE)):
                decision = domain.Decision("dead", reason=result.error)
            else:
                decision = domain.decide(result, attempt, self._policy, self._clock())
            await store.record_attempt(conn, delivery, result, decision, self._clock())
            DELIVERY_ATTEMPTS.labels(decision.verdict).inc()
            DELIVERY_LATENCY.observe(result.latency_ms / 1000)
            if decision.verdict != "delivered":
                log.warning(
                    "not delivered",
                    channel=delivery.channel,
                    subscription_id=str(sub),
                    delivery_id=delivery.id,
                    attempt=attempt,
                    status_code=result.status_code,
                    verdict=decision.verdict,
                    error=result.error,
                )


# SecretBoxError's message: a subscription whose secrets no longer decrypt cannot be retried.
_UNREADABLE = "stored secret"
# No initiator to mail (the contact was erased, or there is no such initiative): no retry either.
_GONE = "no initiator"
