"""A partner's receipts, read back: which of the events it just sent were accepted, and why not."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.receipts import RECEIPT_ACCEPTED, RECEIPT_DUPLICATE, FieldError
from wijkbus.replaying import end_offsets
from wijkbus.transport_security import client_options

TOP_REASONS = 3


@dataclass
class Tally:
    """Receipts counted by type for the event ids a run sent; `pending` have no receipt yet."""

    pending: set[str]
    accepted: int = 0
    duplicate: int = 0
    refused: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    last: dict[str, object] | None = None

    @property
    def answered(self) -> int:
        """How many of the events have a receipt."""
        return self.accepted + self.duplicate + self.refused

    @property
    def missing(self) -> int:
        """Events without a receipt (yet)."""
        return len(self.pending)

    def count(self, receipt: dict[str, object]) -> bool:
        """Count a receipt if it answers one of our events, once; True if it did."""
        data = receipt.get("data")
        event_id = data.get("event_id") if isinstance(data, dict) else None
        if not isinstance(data, dict) or event_id not in self.pending:
            return False
        self.pending.discard(event_id)
        self.last = receipt
        if receipt.get("type") == RECEIPT_ACCEPTED:
            self.accepted += 1
        elif receipt.get("type") == RECEIPT_DUPLICATE:
            self.duplicate += 1
        else:  # geweigerd, or a type this tool does not know: not accepted either way
            self.refused += 1
            for error in data.get("errors") or [{"field": "", "message": "no reason given"}]:
                e = FieldError.model_validate(error)
                self.reasons[f"{e.field or 'event'}: {e.message}"[:120]] += 1
        return True

    def summary(self) -> str:
        """One line: accepted / duplicate / refused / without receipt, and the top reasons."""
        line = f"accepted {self.accepted}, duplicate {self.duplicate}, refused {self.refused}" + (
            f", no receipt {self.missing}" if self.missing else ""
        )
        top = self.reasons.most_common(TOP_REASONS)
        if top:
            line += "; refused because " + "; ".join(f"{why} ({n}×)" for why, n in top)
        return line


class ReceiptWatch:
    """Reads a receipts topic from its end as it was before sending, so old runs do not count."""

    def __init__(self, bootstrap: str, topic: str, event_ids: Iterable[str]) -> None:
        self.topic = topic
        self.tally = Tally(set(event_ids))
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **client_options(),
        )

    async def start(self) -> None:
        """Connect and start reading where the topic ends now."""
        await self._consumer.start()
        await self._consumer.topics()  # the first metadata covers every topic
        partitions = self._consumer.partitions_for_topic(self.topic)
        if not partitions:
            # Intake creates the topic with its first receipt: all of it will be new to us.
            self._consumer.subscribe([self.topic])
            return
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        ends = await end_offsets(self._consumer, tps)
        self._consumer.assign(tps)
        for tp in tps:
            self._consumer.seek(tp, ends[tp])

    async def wait(
        self, give_up: Callable[[], bool], on_receipt: Callable[[Tally], None] = lambda _: None
    ) -> Tally:
        """Count receipts until every event has one or `give_up()` says so."""
        while self.tally.missing and not give_up():
            batches = await self._consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if record.value and self.tally.count(json.loads(record.value)):
                        on_receipt(self.tally)
        return self.tally

    async def stop(self) -> None:
        """Disconnect."""
        await self._consumer.stop()
