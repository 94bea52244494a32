"""One attempt at a claimed send: a webhook POST (one event or a batch) or an e-mail, recorded
with its consequence in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.notify import answers, batches, domain, reporting, signatures, store
from services.notify.crypto import SecretBox, SecretBoxError
from services.notify.initiators import ContactGone, ContactUnavailable, InitiatorContacts
from services.notify.mail import MailRenderer, MailSender
from services.notify.webhook import WebhookSender
from wijkbus.logging import bound

# SecretBoxError's message: a subscription whose secrets no longer decrypt cannot be retried.
_UNREADABLE = "stored secret"
# Where a single delivery's answer goes to be recorded write-behind.
Later = Callable[[store.DueDelivery, domain.AttemptResult, domain.Decision, datetime], None]
# No initiator to mail (the contact was erased, or there is no such initiative): no retry either.
_GONE = "no initiator"


@dataclass(frozen=True)
class Attempts:
    """Sends a claimed delivery or batch over its subscription's channel and records it."""

    box: SecretBox
    sender: WebhookSender
    mailer: MailSender
    renderer: MailRenderer
    policy: domain.RetryPolicy
    clock: Callable[[], datetime]
    contacts: InitiatorContacts | None = None

    async def run(
        self, pool: asyncpg.Pool, send: tuple[store.DueDelivery, ...], later: Later | None = None
    ) -> bool:
        """Attempt `send` (one delivery, or a batch when it has a batch id) and record it; a
        single delivery's answer is handed to `later` instead when given, unless it ends the
        subscription. True when it was handed on."""
        head = send[0]
        attempt = max(d.attempts for d in send) + 1
        with bound(event_id=head.event_id):
            result = await (self._batch(send) if head.batch_id else self._attempt(head))
            if result.error and result.error.startswith((_UNREADABLE, _GONE)):
                decision = domain.Decision("dead", reason=result.error)
            else:
                decision = domain.decide(result, attempt, self.policy, self.clock())
            handed = later is not None and not head.batch_id and decision.verdict != "gone"
            if not handed:
                # A connection only to record: none is held while the receiver answers.
                at = self.clock()
                async with pool.acquire() as conn:
                    await answers.record(
                        conn, [answers.Answer(d, result, decision, at) for d in send]
                    )
            reporting.attempted(send, attempt, result, decision)
            if later is not None and handed:  # last: from here on the answer is its to record
                later(head, result, decision, self.clock())  # written behind (answers.py)
            return handed

    def _secrets(self, delivery: store.DueDelivery) -> tuple[str, str]:
        """The subscription's Authorization value and signing secret, opened."""
        sub = delivery.subscription_id
        assert delivery.authorization_enc is not None and delivery.signing_secret_enc is not None
        return (
            self.box.open(delivery.authorization_enc, f"{sub}:auth"),
            self.box.open(delivery.signing_secret_enc, f"{sub}:signing"),
        )

    async def _batch(self, send: tuple[store.DueDelivery, ...]) -> domain.AttemptResult:
        """One POST of the batch's events as a JSON array, under the batch's own webhook-id."""
        head = send[0]
        assert head.callback_url is not None and head.batch_id is not None
        try:
            authorization, secret = self._secrets(head)
        except SecretBoxError as exc:
            return domain.AttemptResult(None, 0, error=f"{exc} (was NOTIFY_SECRET_KEY changed?)")
        message_id = signatures.batch_message_id(head.subscription_id, head.batch_id)
        return await self.sender.post(
            head.callback_url,
            authorization,
            secret,
            batches.batch_body(send),
            message_id,
            content_type=batches.BATCH_CONTENT_TYPE,
        )

    async def _attempt(self, delivery: store.DueDelivery) -> domain.AttemptResult:
        """One try over the subscription's channel: a webhook POST or an e-mail."""
        if delivery.channel in ("email", "initiator"):
            return await self._mail(delivery)
        assert delivery.callback_url is not None
        try:
            authorization, secret = self._secrets(delivery)
        except SecretBoxError as exc:
            return domain.AttemptResult(None, 0, error=f"{exc} (was NOTIFY_SECRET_KEY changed?)")
        message_id = signatures.message_id(delivery.subscription_id, delivery.event_id)
        # A notificatie is plain JSON (the Notificaties API); the other webhooks CloudEvents.
        kind = "application/json" if delivery.channel == "notificaties" else None
        return await self.sender.post(
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
            mail = self.renderer.render(delivery.body)
        except Exception as exc:  # a template that cannot render this event: retry, then dead
            return domain.AttemptResult(None, 0, error=f"mail not rendered: {exc!r}"[:500])
        if delivery.channel == "email":
            assert delivery.email_address is not None
            to = delivery.email_address
        elif self.contacts is None:
            return domain.AttemptResult(None, 0, error="no budget to ask for initiators")
        else:
            try:
                to = await self.contacts.address(delivery.body)
            except ContactGone as exc:
                return domain.AttemptResult(None, 0, error=f"{_GONE}: {exc}")
            except ContactUnavailable as exc:
                return domain.AttemptResult(None, 0, error=str(exc))
        key = f"{delivery.subscription_id}|{delivery.event_id}"
        result = await self.mailer.send(to, mail, key=key, event_id=delivery.event_id)
        if result.error and delivery.channel == "initiator":  # an SMTP answer may quote it
            error = result.error.replace(to, "<initiatiefnemer>")
            return domain.AttemptResult(result.status_code, result.latency_ms, error=error)
        return result
