"""Street thresholds with hysteresis: when a street's recent incidents call for a wijkhub.

Pure: the handler counts incidents at the evaluation time and passes the alert's state in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from contracts.events import StreetThresholdCrossed
from services.routing.domain import RecentWindow, RuleSet, Threshold

WINDOWS = (7, 30, 90)
Change = Literal["crossed", "dropped", "unchanged"]


@dataclass(frozen=True)
class Street:
    """A street as routing knows it."""

    street_key: str
    street: str
    city: str
    buurt_code: str | None


@dataclass(frozen=True)
class Windows:
    """The counting windows one signal needs: the rules' min_recent windows, which end at its
    observation, then the thresholds' windows, which end at the evaluation time."""

    recent_windows: tuple[RecentWindow, ...]
    threshold_days: tuple[int, ...]
    bounds: list[tuple[datetime, datetime]]

    @classmethod
    def of(cls, ruleset: RuleSet, observed_at: datetime, now: datetime) -> Windows:
        """The windows `ruleset` asks for, for a signal observed at `observed_at`."""
        recent = tuple(sorted(ruleset.recent_windows(), key=str))
        days = tuple(sorted({t.window_days for t in ruleset.thresholds}))
        return cls(recent, days, []).at(observed_at, now)

    def at(self, observed_at: datetime, now: datetime) -> Windows:
        """The same windows for a signal observed at `observed_at`, evaluated at `now`."""
        bounds = [(observed_at - timedelta(days=d), observed_at) for d, _ in self.recent_windows]
        bounds += [(now - timedelta(days=d), now) for d in self.threshold_days]
        return Windows(self.recent_windows, self.threshold_days, bounds)

    def recent(self, counted: list[dict[str, int]]) -> dict[RecentWindow, int]:
        """The min_recent counts, from per-categorie counts in the order of `bounds`."""
        return {
            (days, cats): sum(n for c, n in counted[i].items() if cats is None or c in cats)
            for i, (days, cats) in enumerate(self.recent_windows)
        }

    def by_days(self, counted: list[dict[str, int]]) -> dict[int, dict[str, int]]:
        """The thresholds' per-categorie counts by window length."""
        offset = len(self.recent_windows)
        return {d: counted[offset + i] for i, d in enumerate(self.threshold_days)}


def judge(threshold: Threshold, counts: dict[str, int], active: bool) -> Change:
    """Crossed when the count reaches the threshold while not active; dropped when below.

    "Dropped below" is decided at evaluation time: an evaluation that finds the street's
    count in the window under the threshold re-arms the alert, and only then can it fire again.
    """
    total = sum(counts.get(c.value, 0) for c in threshold.categorie)
    if total >= threshold.count:
        return "unchanged" if active else "crossed"
    return "dropped" if active else "unchanged"


def crossed(
    threshold: Threshold, street: Street, counts: dict[str, int], now: datetime
) -> StreetThresholdCrossed:
    """The event announcing that `street` crossed `threshold`, with the counts and advice."""
    return StreetThresholdCrossed(
        street_key=street.street_key,
        street=street.street,
        city=street.city,
        buurt_code=street.buurt_code,
        rule_id=threshold.id,
        window_days=threshold.window_days,
        counts={c.value: counts.get(c.value, 0) for c in threshold.categorie},
        advice=threshold.advice,
        crossed_at=now,
    )


Alert = tuple[bool, int]  # (active, crossings so far)


@dataclass
class StreetInBatch:
    """What a batch knows of one street: its alerts and the incidents it added so far.

    The stored counts and alerts are read once, before the batch's own incidents are stored,
    and carried forward here, so each signal sees exactly what it would see in a batch of one,
    including the signals of its street earlier in the same batch.
    """

    alerts: dict[str, Alert]
    added: list[tuple[str, datetime]] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)

    def add(self, categorie: str, observed_at: datetime) -> None:
        """Count a new incident of this street (it counts itself too)."""
        self.added.append((categorie, observed_at))

    def counts(self, stored: dict[str, int], after: datetime, upto: datetime) -> dict[str, int]:
        """The incidents in (after, upto]: those stored before the batch and those it added."""
        counts = dict(stored)
        for categorie, observed_at in self.added:
            if after < observed_at <= upto:
                counts[categorie] = counts.get(categorie, 0) + 1
        return counts

    def judge(
        self,
        thresholds: tuple[Threshold, ...],
        where: Street,
        counts_by_days: dict[int, dict[str, int]],
        now: datetime,
    ) -> list[tuple[StreetThresholdCrossed, int]]:
        """Each threshold's verdict for one new incident, with hysteresis; the crossings it
        causes, each with its number (the street's n-th crossing of that threshold)."""
        found: list[tuple[StreetThresholdCrossed, int]] = []
        for threshold in thresholds:
            counts = counts_by_days[threshold.window_days]
            active, crossings = self.alerts.get(threshold.id, (False, 0))
            change = judge(threshold, counts, active)
            if change == "unchanged":
                continue
            self.changed.add(threshold.id)
            if change == "dropped":
                self.alerts[threshold.id] = (False, crossings)
                continue
            self.alerts[threshold.id] = (True, crossings + 1)
            found.append((crossed(threshold, where, counts, now), crossings + 1))
        return found
