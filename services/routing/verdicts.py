"""What a replay takes of live's feedback verdicts: which feedback live accepted.

Live judges feedback against the assignment as the feedback handler finds it when it locks it:
before or after an escalation is a matter of routing's moment, like the escalation itself. Live
announces every feedback it accepts on routing.events (routing.acknowledged, routing.resolved:
the feedback's partner, and its received_at as the moment); feedback it ignored changed nothing
and is announced nowhere. A replay hands on only the feedback live announced, to be judged again
by the same rules, and leaves out the rest, as live ignored it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from contracts.codec import Envelope
from contracts.envelope import CloudEvent
from contracts.events import (
    ROUTING_ACKNOWLEDGED_TYPE,
    ROUTING_RESOLVED_TYPE,
    FeedbackReceived,
    SignalAcknowledged,
    SignalResolved,
)
from wijkbus.processor import BatchHandler

ANNOUNCED = (ROUTING_ACKNOWLEDGED_TYPE, ROUTING_RESOLVED_TYPE)
Feedback = Envelope[FeedbackReceived]
Verdict = tuple[str, str, str, datetime]  # signal, partner, kind, the feedback's received_at


@dataclass
class Accepted:
    """The feedback live announced it accepted; kept in memory: a few per signal."""

    verdicts: set[Verdict] = field(default_factory=set)

    def take(self, events: list[CloudEvent]) -> None:
        """Take in the routing.acknowledged and routing.resolved among `events`."""
        for event in events:
            if event.type == ROUTING_ACKNOWLEDGED_TYPE:
                ack = SignalAcknowledged.model_validate(event.data)
                self.verdicts.add((ack.signal_id, ack.partner_id, "opgepakt", ack.acknowledged_at))
            elif event.type == ROUTING_RESOLVED_TYPE:
                end = SignalResolved.model_validate(event.data)
                self.verdicts.add((end.signal_id, end.partner_id, "afgehandeld", end.resolved_at))

    def only(self, handle: BatchHandler[Feedback]) -> BatchHandler[Feedback]:
        """`handle`, given only the feedback live accepted."""

        async def as_live(conn: asyncpg.Connection, events: list[Feedback]) -> None:
            await handle(conn, [e for e in events if _verdict(e.data) in self.verdicts])

        return as_live


def _verdict(feedback: FeedbackReceived) -> Verdict:
    return (feedback.signal_id, feedback.partner_id, feedback.kind, feedback.received_at)
