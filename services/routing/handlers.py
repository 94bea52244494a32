"""Routing's handlers: accepted signals get a responder; feedback moves an assignment on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from contracts.codec import Envelope
from contracts.events import (
    FeedbackReceived,
)
from services.routing import (
    domain,
    feedback,
    lifecycle,
    messages,
    reporting,
    rule_parsing,
    rulechange,
    signals,
    store,
)
from wijkbus.logging import get_logger
from wijkbus.outbox import enqueue

Clock = Callable[[], datetime]
log = get_logger(__name__)


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
            self.ruleset = rule_parsing.parse_rules(latest["body"], self.partners)

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
        reporting.assigned(await signals.route(self.ruleset, self.clock(), conn, events))

    async def on_feedback(
        self, conn: asyncpg.Connection, events: list[Envelope[FeedbackReceived]]
    ) -> None:
        """signals.feedback: each opgepakt or afgehandeld, in order, the batch at once."""
        await feedback.record(conn, events)

    async def escalate_due(self, conn: asyncpg.Connection, limit: int = 100) -> int:
        """Escalate every assignment whose deadline passed unacknowledged; how many were due."""
        now = self.clock()
        overdue = await store.due_timers(conn, now, limit)
        escalated: list[lifecycle.Escalated] = []
        ended: list[lifecycle.Overdue] = []
        for item in overdue:
            if (moved := lifecycle.escalate(item, self.ruleset, now)) is None:
                ended.append(item)
            else:
                escalated.append(moved)
        await store.escalate_many(conn, escalated, [item.signal_id for item in ended])
        await enqueue(conn, *(messages.escalated_message(e, now) for e in escalated))
        reporting.escalated(escalated, ended)
        return len(overdue)
