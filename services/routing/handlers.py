"""Routing's handlers: an accepted signal gets a responder; feedback moves its assignment on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from contracts import topics
from contracts.envelope import CloudEvent, new_event
from contracts.events import (
    FEEDBACK_RECEIVED_TYPE,
    ROUTING_ACKNOWLEDGED_TYPE,
    ROUTING_ASSIGNED_TYPE,
    ROUTING_ESCALATED_TYPE,
    ROUTING_RESOLVED_TYPE,
    SIGNAL_ACCEPTED_TYPE,
    STREET_THRESHOLD_CROSSED_TYPE,
    FeedbackReceived,
    ResponderAssigned,
    SignalAccepted,
    SignalAcknowledged,
    SignalResolved,
    StreetThresholdCrossed,
)
from services.routing import domain, lifecycle, rulechange, store, streets
from wijkbus.consumer import PermanentError
from wijkbus.logging import get_logger
from wijkbus.outbox import OutgoingMessage, cloud_event_message, enqueue

ROUTING_SOURCE = "urn:nld:wijkbus:routing"
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
        out = new_event(
            rulechange.ROUTING_RULES_CHANGED_TYPE,
            ROUTING_SOURCE,
            change,
            id=f"rules-changed-{new.version}",
            subject=f"rules:{new.municipality}",
            time=change.changed_at,
        )
        await enqueue(
            conn, cloud_event_message(topics.ROUTING_EVENTS, f"rules:{new.municipality}", out)
        )
        return change

    def in_force(self, new: domain.RuleSet) -> None:
        """Route by `new` from now on (after its transaction committed)."""
        self.ruleset = new

    async def on_signal_event(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        """signals.accepted: count the incident, assign a responder, check street thresholds."""
        expect_type(event, SIGNAL_ACCEPTED_TYPE)
        signal = SignalAccepted.model_validate(event.data)
        ruleset, now = self.ruleset, self.clock()
        windows = streets.Windows.of(ruleset, signal.observed_at, now)
        counted = await store.record_incident(conn, signal, windows.bounds)
        # The inbox dedupes per consumer name; this also holds for a replay under another name.
        if counted is None:
            return
        assigned = domain.assign(ruleset, signal, now, windows.recent(counted.windows))
        await store.insert_assignment(conn, assigned, ruleset.rule(assigned.rule_id))
        await _publish(
            conn, event, ROUTING_ASSIGNED_TYPE, "assigned", assigned, assigned.assigned_at
        )
        if ruleset.thresholds:
            by_days = windows.by_days(counted.windows)
            await self._judge_street(conn, signal, event, by_days, counted.alerts, now)

    async def _judge_street(
        self,
        conn: asyncpg.Connection,
        signal: SignalAccepted,
        cause: CloudEvent,
        counts_by_days: dict[int, dict[str, int]],
        unlocked: dict[str, bool],
        now: datetime,
    ) -> None:
        street = streets.Street(signal.street_key, signal.street, signal.city, signal.buurt_code)
        changes = {
            t.id: streets.judge(t, counts_by_days[t.window_days], unlocked.get(t.id, False))
            for t in self.ruleset.thresholds
        }
        if all(change == "unchanged" for change in changes.values()):
            return  # the common case, decided without a lock or another round trip
        states = await store.alert_states(conn, signal.street_key)
        for threshold in self.ruleset.thresholds:
            counts = counts_by_days[threshold.window_days]
            change = streets.judge(threshold, counts, states.get(threshold.id, False))
            if change == "unchanged":
                continue
            n = await store.set_alert(
                conn, signal.street_key, threshold.id, change == "crossed", now
            )
            if change == "crossed":
                crossed = streets.crossed(threshold, street, counts, now)
                await store.record_crossing(conn, crossed)
                await enqueue(conn, crossing_message(cause, crossed, n))

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
            out = new_event(
                ROUTING_ESCALATED_TYPE,
                ROUTING_SOURCE,
                escalated.event,
                id=f"escalated-{item.signal_id}-{escalated.step}",
                subject=item.signal_id,
                time=now,
            )
            await enqueue(conn, cloud_event_message(topics.ROUTING_EVENTS, item.signal_id, out))
        return len(overdue)

    async def on_feedback_event(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        """signals.feedback: opgepakt or afgehandeld by the assigned partner."""
        expect_type(event, FEEDBACK_RECEIVED_TYPE)
        feedback = FeedbackReceived.model_validate(event.data)
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


def expect_type(event: CloudEvent, type_: str) -> None:
    """Refuse, for good, an event of another type than this consumer takes."""
    if event.type != type_:
        raise PermanentError(f"unexpected event type {event.type!r}; this consumer takes {type_}")


async def _publish(
    conn: asyncpg.Connection,
    cause: CloudEvent,
    type_: str,
    verb: str,
    data: ResponderAssigned | SignalAcknowledged | SignalResolved,
    at: datetime,
) -> None:
    await enqueue(conn, signal_message(cause, type_, verb, data, at))


def signal_message(
    cause: CloudEvent,
    type_: str,
    verb: str,
    data: ResponderAssigned | SignalAcknowledged | SignalResolved,
    at: datetime,
) -> OutgoingMessage:
    """The routing.events message saying what became of a signal, keyed by the signal."""
    signal_id = data.signal_id
    # A deterministic id lets consumers downstream dedupe whatever routing re-emits.
    out = new_event(
        type_,
        ROUTING_SOURCE,
        data,
        id=f"{verb}-{signal_id}",
        subject=signal_id,
        time=at,
        extensions=_trace(cause),
    )
    return cloud_event_message(topics.ROUTING_EVENTS, signal_id, out)


def crossing_message(
    cause: CloudEvent, crossed: StreetThresholdCrossed, crossings: int
) -> OutgoingMessage:
    """The streets.events message announcing a street's `crossings`-th crossing of a threshold."""
    out = new_event(
        STREET_THRESHOLD_CROSSED_TYPE,
        ROUTING_SOURCE,
        crossed,
        id=f"threshold-{crossed.street_key}-{crossed.rule_id}-{crossings}",
        subject=crossed.street_key,
        time=crossed.crossed_at,
        extensions=_trace(cause),
    )
    return cloud_event_message(topics.STREETS_EVENTS, crossed.street_key, out)


def _trace(cause: CloudEvent) -> dict[str, str] | None:
    extra = cause.model_extra or {}
    return {"traceparent": extra["traceparent"]} if extra.get("traceparent") else None
