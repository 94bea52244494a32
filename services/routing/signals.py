"""Accepted signals, a partition's batch at a time: count, assign, judge the streets.

The rules (`domain.assign`, `streets.StreetInBatch.judge`) run over the batch in record order,
with one statement per table: the street counts and alert states are read once, before the
batch's own incidents are stored, and carried forward in memory. A single signal is a batch of
one; there is no other write path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from contracts.codec import Envelope
from contracts.events import (
    ROUTING_ASSIGNED_TYPE,
    ResponderAssigned,
    SignalAccepted,
    StreetThresholdCrossed,
)
from services.routing import domain, store, streets
from services.routing.messages import advised_message, crossing_message, signal_message
from services.routing.wijkhub import store as hub_store
from services.routing.wijkhub.domain import hub_of
from wijkbus.outbox import OutgoingMessage, enqueue

Accepted = Envelope[SignalAccepted]


class AlertsChangedMeanwhile(RuntimeError):
    """A street's alerts changed between reading and locking them: the batch is tried again."""


@dataclass
class Effects:
    """What the batch writes, in the order of its signals."""

    assigned: list[tuple[ResponderAssigned, domain.Rule]] = field(default_factory=list)
    crossings: list[StreetThresholdCrossed] = field(default_factory=list)
    messages: list[OutgoingMessage] = field(default_factory=list)


async def route(
    ruleset: domain.RuleSet, now: datetime, conn: asyncpg.Connection, events: list[Accepted]
) -> list[ResponderAssigned]:
    """signals.accepted: count each incident, assign a responder (marking the signals that fall
    in a running wijkhub), judge its street's thresholds; the assignments it made."""
    accepted = _accepted(events)
    if not accepted:
        return []
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
    batch = {key: streets.StreetInBatch(dict(alerts.get(key, {}))) for key in street_keys}
    buurten = sorted({s.buurt_code for _, s in accepted if s.buurt_code})
    hubs = await hub_store.hubs_on(conn, street_keys, buurten)
    effects = Effects()
    for (event, signal), window in zip(accepted, windows, strict=True):
        if signal.signal_id in new:  # else counted before, e.g. by a replay under another name
            hub_id = hub_of(hubs, signal.street_key, signal.buurt_code, signal.received_at)
            _route_one(ruleset, now, event, signal, window, stored, batch, effects, hub_id)
    await store.insert_assignments(conn, effects.assigned)
    await _save_alerts(conn, alerts, batch, now)
    await store.record_crossings(conn, effects.crossings, ruleset)
    await enqueue(conn, *effects.messages)
    return [assigned for assigned, _ in effects.assigned]


def _route_one(
    ruleset: domain.RuleSet,
    now: datetime,
    event: Accepted,
    signal: SignalAccepted,
    window: streets.Windows,
    stored: dict[tuple[str, datetime, datetime], dict[str, int]],
    batch: dict[str, streets.StreetInBatch],
    effects: Effects,
    hub_id: str | None,
) -> None:
    street = batch[signal.street_key]
    street.add(signal.categorie.value, signal.observed_at)
    counted = [street.counts(stored[(signal.street_key, *b)], *b) for b in window.bounds]
    assigned = domain.assign(ruleset, signal, now, window.recent(counted), hub_id)
    effects.assigned.append((assigned, ruleset.rule(assigned.rule_id)))
    effects.messages.append(
        signal_message(event, ROUTING_ASSIGNED_TYPE, "assigned", assigned, assigned.assigned_at)
    )
    if not ruleset.thresholds:
        return
    where = streets.Street(signal.street_key, signal.street, signal.city, signal.buurt_code)
    for crossed, n in street.judge(ruleset.thresholds, where, window.by_days(counted), now):
        effects.crossings.append(crossed)
        effects.messages.append(crossing_message(event, crossed, n))
        if ruleset.threshold(crossed.rule_id).wijkhub:
            effects.messages.append(advised_message(event, crossed, n))


def _accepted(events: list[Accepted]) -> list[tuple[Accepted, SignalAccepted]]:
    """The signals, a signal id once (a later copy, under another event id, is a redelivery)."""
    found: dict[str, tuple[Accepted, SignalAccepted]] = {}
    for event in events:
        found.setdefault(event.data.signal_id, (event, event.data))
    return list(found.values())


async def _save_alerts(
    conn: asyncpg.Connection,
    read: dict[str, dict[str, streets.Alert]],
    batch: dict[str, streets.StreetInBatch],
    now: datetime,
) -> None:
    """Lock the alerts that change and store their new states.

    They were read unlocked. Another transaction can have changed them since only when it
    handled signals of the same street at the same time: a rebalance does not cause that (the
    new owner's inbox claim waits for the old owner's batch), a street on two partitions does
    (its signals not keyed by street key). Then the batch is tried again. An alert without a
    row yet cannot be locked: its insert finds the other transaction's row instead.
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
    new = {
        (key, threshold_id) for key, threshold_id in states if threshold_id not in read.get(key, {})
    }
    if not await store.set_alerts(conn, states, now, new=new):
        raise AlertsChangedMeanwhile(f"street alerts created while judged: {changed}")
