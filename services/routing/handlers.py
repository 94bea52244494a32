"""Routing's handlers: accepted signals get a responder; feedback moves an assignment on."""

from __future__ import annotations

from collections.abc import Callable
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
from services.routing import domain, lifecycle, messages, rulechange, signals, store
from wijkbus.logging import get_logger
from wijkbus.outbox import enqueue

Clock = Callable[[], datetime]
log = get_logger(__name__)


class AssignmentNotYetKnown(Exception):
    """Feedback for a signal routing has not assigned yet: retried, dead-lettered if it persists."""


@dataclass
class Routing:
    """What routing's handlers need: the rule set in force, a clock and the partner ids."""

    ruleset: domain.RuleSet
    clock: Clock
    partners: tuple[str, ...] = field(default=())

    async def record_ruleset(self, conn: asyncpg.Connection) -> None:
        """Store the file's rule set (once per version); the newest stored one is in force."""
        new = await store.save_ruleset(conn, self.ruleset, self.clock())
        await self.refresh(conn)
        log.info("rules in force", version=self.ruleset.version, file_version_new=new)

    async def refresh(self, conn: asyncpg.Connection) -> None:
        """Take the newest stored rule set, e.g. one another instance accepted over the API."""
        latest = await store.latest_ruleset(conn)
        if latest is not None and latest["version"] != self.ruleset.version:
            self.ruleset = domain.parse_rules(latest["body"], self.partners)

    async def replace_rules(
        self, conn: asyncpg.Connection, new: domain.RuleSet, who: str
    ) -> rulechange.RulesChanged | None:
        """Put `new` in force, stored with its history and announced; None when already in force.

        Raises store.RuleSetConflict when the version is stored with other rules.
        """
        await store.lock_rules(conn)
        await self.refresh(conn)
        old = self.ruleset
        if new.version == old.version and new.text == old.text:
            return None
        change = rulechange.rules_changed(old, new, who, self.clock())
        if not await store.save_ruleset(
            conn, new, change.changed_at, loaded_by=who, diff=change.diff
        ):
            raise store.RuleSetConflict(
                f"routing rule set version {new.version!r} was in force before; "
                "give the changed rules a new version"
            )
        await enqueue(conn, messages.rules_changed_message(change, new.municipality))
        return change

    def in_force(self, new: domain.RuleSet) -> None:
        """Route by `new` from now on (after its transaction committed)."""
        self.ruleset = new

    async def on_signals(self, conn: asyncpg.Connection, events: list[signals.Accepted]) -> None:
        """signals.accepted: count, assign and judge the streets, the batch at once."""
        await signals.route(self.ruleset, self.clock(), conn, events)

    async def on_feedback(
        self, conn: asyncpg.Connection, events: list[Envelope[FeedbackReceived]]
    ) -> None:
        """signals.feedback: each opgepakt or afgehandeld, in order."""
        for event in events:
            await self._feedback(conn, event)

    async def escalate_due(self, conn: asyncpg.Connection, limit: int = 100) -> int:
        """Escalate every assignment whose deadline passed unacknowledged; how many were due."""
        now = self.clock()
        overdue = await store.due_timers(conn, now, limit)
        for item in overdue:
            escalated = lifecycle.escalate(item, self.ruleset, now)
            await store.escalate(conn, item, escalated)
            if escalated is None:
                log.warning("deadline passed, nobody left to escalate to", signal=item.signal_id)
                continue
            await enqueue(conn, messages.escalated_message(item.signal_id, escalated, now))
        return len(overdue)

    async def _feedback(self, conn: asyncpg.Connection, event: Envelope[FeedbackReceived]) -> None:
        feedback = event.data
        assignment = await store.assignment_for_update(conn, feedback.signal_id)
        if assignment is None:
            # Live, intake takes feedback only after routing.assigned; on a replay of both
            # topics the feedback consumer may run ahead, so a retry usually finds it.
            raise AssignmentNotYetKnown(f"no assignment for signal {feedback.signal_id}")
        match lifecycle.record_feedback(assignment, feedback):
            case SignalAcknowledged() as acknowledged:
                await store.acknowledge(conn, acknowledged)
                await _publish(
                    conn,
                    event,
                    ROUTING_ACKNOWLEDGED_TYPE,
                    "acknowledged",
                    acknowledged,
                    acknowledged.acknowledged_at,
                )
            case SignalResolved() as resolved:
                await store.resolve(conn, resolved)
                await _publish(
                    conn, event, ROUTING_RESOLVED_TYPE, "resolved", resolved, resolved.resolved_at
                )
            case lifecycle.Ignored(reason):
                log.warning("feedback ignored", signal_id=feedback.signal_id, reason=reason)


async def _publish(
    conn: asyncpg.Connection,
    cause: CloudEvent,
    type_: str,
    verb: str,
    data: SignalAcknowledged | SignalResolved,
    at: datetime,
) -> None:
    await enqueue(conn, messages.signal_message(cause, type_, verb, data, at))
