"""Routing in bulk: a partition's batch of accepted signals routed with one statement per step.

One by one, a signal costs several round trips to PostgreSQL, and a projection rebuild replays
every accepted signal. Here the same rules (`domain.assign`, `streets.judge`) run over the batch
in record order. The street counts and alert states are read once, before the batch's own
incidents are stored, and carried forward in memory, so each signal sees exactly what it would
have seen one by one, including the signals of its street earlier in the same batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from contracts.envelope import CloudEvent
from contracts.events import (
    ROUTING_ASSIGNED_TYPE,
    SIGNAL_ACCEPTED_TYPE,
    ResponderAssigned,
    SignalAccepted,
    StreetThresholdCrossed,
)
from services.routing import domain, store, streets
from services.routing.handlers import Routing, crossing_message, expect_type, signal_message
from wijkbus.outbox import OutgoingMessage, enqueue

Alert = tuple[bool, int]  # (active, crossings so far)
Window = tuple[str, datetime, datetime]  # (street_key, after, upto]


class AlertsChangedMeanwhile(RuntimeError):
    """A street's alerts changed between reading and locking them: the kit goes one by one."""


@dataclass
class StreetInBatch:
    """What the batch knows of one street: its alerts and the incidents it added so far."""

    alerts: dict[str, Alert]
    added: list[tuple[str, datetime]] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)

    def counts(self, stored: dict[str, int], after: datetime, upto: datetime) -> dict[str, int]:
        """What one by one would count in (after, upto]: the stored incidents and those added."""
        counts = dict(stored)
        for categorie, observed_at in self.added:
            if after < observed_at <= upto:
                counts[categorie] = counts.get(categorie, 0) + 1
        return counts


@dataclass
class Effects:
    """What the batch writes, in the order one by one would have written it."""

    assigned: list[tuple[ResponderAssigned, domain.Rule]] = field(default_factory=list)
    crossings: list[StreetThresholdCrossed] = field(default_factory=list)
    messages: list[OutgoingMessage] = field(default_factory=list)


async def on_signal_events(
    routing: Routing, conn: asyncpg.Connection, events: list[CloudEvent]
) -> None:
    """signals.accepted in bulk: for each event, in order, what `Routing.on_signal_event` does."""
    ruleset, now = routing.ruleset, routing.clock()
    accepted = _accepted(events)
    if not accepted:
        return
    shape = streets.Windows.of(ruleset, now, now)
    windows = [shape.at(s.observed_at, now) for _, s in accepted]
    keys = sorted(
        {(s.street_key, *b) for (_, s), w in zip(accepted, windows, strict=True) for b in w.bounds}
    )
    found = await store.stored_window_counts(conn, keys) if keys else []
    stored = dict(zip(keys, found, strict=True))
    street_keys = sorted({s.street_key for _, s in accepted})
    alerts = await store.alert_states_many(conn, street_keys) if ruleset.thresholds else {}
    new = await store.insert_incidents(conn, [s for _, s in accepted])
    await store.add_counts(conn, [s for _, s in accepted if s.signal_id in new])
    batch = {key: StreetInBatch(dict(alerts.get(key, {}))) for key in street_keys}
    effects = Effects()
    for (event, signal), window in zip(accepted, windows, strict=True):
        if signal.signal_id not in new:
            continue  # counted before, e.g. by a replay under another consumer name
        street = batch[signal.street_key]
        street.added.append((signal.categorie.value, signal.observed_at))  # counts itself too
        counted = [street.counts(stored[(signal.street_key, *b)], *b) for b in window.bounds]
        assigned = domain.assign(ruleset, signal, now, window.recent(counted))
        effects.assigned.append((assigned, ruleset.rule(assigned.rule_id)))
        effects.messages.append(
            signal_message(event, ROUTING_ASSIGNED_TYPE, "assigned", assigned, assigned.assigned_at)
        )
        if ruleset.thresholds:
            _judge_street(ruleset, signal, event, window.by_days(counted), street, effects, now)
    await store.insert_assignments(conn, effects.assigned)
    await _save_alerts(conn, alerts, batch, now)
    for crossed in effects.crossings:
        await store.record_crossing(conn, crossed)
    await enqueue(conn, *effects.messages)


def _accepted(events: list[CloudEvent]) -> list[tuple[CloudEvent, SignalAccepted]]:
    """Valid signals, a signal id once (a later copy is a no-op one by one too); raises as
    `on_signal_event` does, so that the kit handles the batch one by one and dead-letters."""
    found: dict[str, tuple[CloudEvent, SignalAccepted]] = {}
    for event in events:
        expect_type(event, SIGNAL_ACCEPTED_TYPE)
        signal = SignalAccepted.model_validate(event.data)
        found.setdefault(signal.signal_id, (event, signal))
    return list(found.values())


def _judge_street(
    ruleset: domain.RuleSet,
    signal: SignalAccepted,
    cause: CloudEvent,
    counts_by_days: dict[int, dict[str, int]],
    street: StreetInBatch,
    effects: Effects,
    now: datetime,
) -> None:
    """The thresholds' verdicts for one signal, as `Routing._judge_street` reaches them."""
    for threshold in ruleset.thresholds:
        counts = counts_by_days[threshold.window_days]
        active, crossings = street.alerts.get(threshold.id, (False, 0))
        change = streets.judge(threshold, counts, active)
        if change == "unchanged":
            continue
        street.changed.add(threshold.id)
        if change == "dropped":
            street.alerts[threshold.id] = (False, crossings)
            continue
        street.alerts[threshold.id] = (True, crossings + 1)
        where = streets.Street(signal.street_key, signal.street, signal.city, signal.buurt_code)
        crossed = streets.crossed(threshold, where, counts, now)
        effects.crossings.append(crossed)
        effects.messages.append(crossing_message(cause, crossed, crossings + 1))


async def _save_alerts(
    conn: asyncpg.Connection,
    read: dict[str, dict[str, Alert]],
    batch: dict[str, StreetInBatch],
    now: datetime,
) -> None:
    """Lock the alerts that change and store their new states.

    They were read unlocked, as one by one reads them; only another instance handling the same
    street at once (a rebalance) could have changed them since, and then one by one decides.
    """
    changed = sorted(key for key, street in batch.items() if street.changed)
    if not changed:
        return
    locked = await store.alert_states_many(conn, changed, lock=True)
    if any(locked.get(key, {}) != read.get(key, {}) for key in changed):
        raise AlertsChangedMeanwhile(f"street alerts changed while judged: {changed}")
    states = {
        (key, threshold_id): batch[key].alerts[threshold_id]
        for key in changed
        for threshold_id in batch[key].changed
    }
    await store.set_alerts(conn, states, now)
