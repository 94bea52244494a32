"""Intake's handlers: partner records and HTTP events in, verdicts out, through one batch path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from contracts import binary_mode, topics
from contracts.envelope import CloudEvent
from contracts.events import (
    ROUTING_ASSIGNED_TYPE,
    ROUTING_ESCALATED_TYPE,
    ROUTING_RESOLVED_TYPE,
    ResponderAssigned,
    ResponderEscalated,
    SignalResolved,
)
from contracts.receipts import FieldError
from services.intake import domain, store
from services.intake.submissions import Submission, submit_batch
from wijkbus.partners import Partner, PartnerRegistry, verify_signature
from wijkbus.processor import Delivery
from wijkbus.randomness import uuid4_text
from wijkbus.vault import Vault

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Intake:
    """What intake's handlers need: the partner registry, a clock, the personal-data vault,
    where new signal ids come from and how far ahead of the clock an `observed_at` may be."""

    partners: PartnerRegistry
    clock: Clock
    vault: Vault = field(default_factory=Vault.ephemeral)
    new_signal_id: Callable[[], str] = uuid4_text
    future_tolerance: timedelta = timedelta(minutes=5)

    async def submit_many(
        self, conn: asyncpg.Connection, batch: Sequence[Submission]
    ) -> list[domain.Verdict]:
        """Judge a batch; store and publish what is accepted in `conn`'s transaction."""
        return await submit_batch(
            conn, self.vault, self.clock(), self.new_signal_id, batch, self.future_tolerance
        )

    async def submit(
        self, conn: asyncpg.Connection, partner: Partner, raw: bytes, channel: str
    ) -> domain.Verdict:
        """Judge one event: a batch of one."""
        return (await self.submit_many(conn, [Submission(partner, raw, channel)]))[0]

    async def on_partner_records(
        self, conn: asyncpg.Connection, deliveries: list[Delivery]
    ) -> None:
        """Kafka side: check each signature, judge the batch, answer each record with a receipt."""
        await self.submit_many(conn, [s for d in deliveries if (s := self._from_record(d))])

    def _from_record(self, delivery: Delivery) -> Submission | None:
        partner = self.partners.get(topics.partner_id_from_events_topic(delivery.topic) or "")
        if partner is None:
            return None  # not a registered partner's topic: nobody to answer, nothing to accept
        signature = delivery.headers.get("wijkbus-signature", b"").decode(errors="replace")
        secret = self.partners.signing_secret(partner.id)
        raw, signed_over, errors = read_record(delivery)
        signed = verify_signature(secret, signed_over, signature or None)
        # An unsigned record is refused for its signature before anything else is said about it.
        refused = domain.Verdict("invalid", errors=tuple(errors)) if errors and signed else None
        return Submission(partner, raw, "kafka", signed=signed, record=delivery, refused=refused)

    async def on_routing_events(self, conn: asyncpg.Connection, events: list[CloudEvent]) -> None:
        """Learn who each signal is assigned to now, so feedback is taken from that partner only."""
        await learn_from_routing(conn, events)


def read_record(delivery: Delivery) -> tuple[bytes, bytes, list[FieldError]]:
    """A partner record as (the structured event, the bytes its signature covers, what is wrong
    with it already): a binary-mode record becomes the structured event it carries."""
    if not binary_mode.is_binary(delivery.headers, binary_mode.KAFKA_PREFIX):
        return delivery.value, delivery.value, []
    raw, errors = binary_mode.to_structured(
        delivery.headers, delivery.value, binary_mode.KAFKA_PREFIX
    )
    return (
        raw,
        binary_mode.signed_bytes(delivery.headers, delivery.value, binary_mode.KAFKA_PREFIX),
        errors,
    )


async def learn_from_routing(conn: asyncpg.Connection, events: list[CloudEvent]) -> None:
    """Apply routing's assigned, escalated and resolved events to intake's signals, in order,
    the batch at once: the last partner and the last status of each signal win."""
    assignments: dict[str, store.Assignment] = {}
    statuses: list[store.StatusChange] = []
    for event in events:
        if event.type == ROUTING_ASSIGNED_TYPE:
            assigned = ResponderAssigned.model_validate(event.data)
            assignments[assigned.signal_id] = store.Assignment(
                assigned.partner_id,
                assigned.rule_id,
                assigned.ruleset_version,
                assigned.assigned_at,
                assigned.acknowledge_by,
            )
            statuses.append(
                store.StatusChange(assigned.signal_id, "toegewezen", assigned.assigned_at)
            )
        elif event.type == ROUTING_ESCALATED_TYPE:
            escalated = ResponderEscalated.model_validate(event.data)
            earlier = assignments.get(escalated.signal_id)  # this batch's assignment, if any
            assignments[escalated.signal_id] = store.Assignment(
                escalated.to_partner_id,
                earlier.rule_id if earlier else None,
                earlier.ruleset_version if earlier else None,
                escalated.escalated_at,
                escalated.acknowledge_by,
            )
            statuses.append(
                store.StatusChange(escalated.signal_id, "toegewezen", escalated.escalated_at)
            )
        elif event.type == ROUTING_RESOLVED_TYPE:
            resolved = SignalResolved.model_validate(event.data)
            statuses.append(
                store.StatusChange(resolved.signal_id, "afgehandeld", resolved.resolved_at)
            )
    await store.set_assignments(conn, assignments)
    await store.set_statuses(conn, statuses)
