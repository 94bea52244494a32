"""Notify's rules: which subscription wants an event, and what a delivery attempt's answer means.

Pure: no I/O and no clock; callers pass in what the rules need.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal

TEST_EVENT_TYPE = "nl.wijkaanpak.notify.test"
SIGNAL_TYPES = "nl.wijkaanpak.intake."


@dataclass(frozen=True)
class Filters:
    """Optional narrowing of a subscription: all that are set must match."""

    partner: str | None = None
    buurt_code: str | None = None
    street_key: str | None = None


@dataclass(frozen=True)
class Subscription:
    """What matching needs to know of a subscription."""

    id: str
    types: tuple[str, ...]
    filters: Filters = Filters()
    # A Notificaties API abonnement's kanalen with their kenmerk filters; None for the others.
    kanalen: list[dict[str, Any]] | None = None


# The data fields each filter reads: a single value, or (last) a list of them.
FILTER_FIELDS: dict[str, tuple[str, ...]] = {
    "partner": ("partner_id", "to_partner_id", "partners"),
    "buurt_code": ("buurt_code",),
    "street_key": ("street_key", "street_keys"),
}


def matches(subscription: Subscription, event_type: str, data: Any) -> bool:
    """Whether `subscription` wants an event of `event_type` carrying `data`."""
    if not any(takes(prefix, event_type) for prefix in subscription.types):
        return False
    f = subscription.filters
    fields: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    if f.partner is not None and f.partner not in _concerned(fields, "partner"):
        return False
    if f.buurt_code is not None and fields.get("buurt_code") != f.buurt_code:
        return False
    return f.street_key is None or f.street_key in _concerned(fields, "street_key")


class Matcher:
    """A batch's subscriptions indexed by their street filter: an event is matched against the
    few that could want it (those of its streets, and those without a street filter), not
    against every street subscription of the city."""

    def __init__(self, subscriptions: Sequence[Subscription]) -> None:
        self._subs = list(subscriptions)
        self._unfiltered: list[int] = []
        self._by_street: dict[str, list[int]] = {}
        for n, s in enumerate(self._subs):
            key = s.filters.street_key
            if key is None:
                self._unfiltered.append(n)
            else:
                self._by_street.setdefault(key, []).append(n)

    def wanting(self, event_type: str, data: Any) -> list[Subscription]:
        """The subscriptions that want the event (as `matches` says), in the order given."""
        fields: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        # Only a string can equal a street_key filter; a set, as an event may name one twice.
        keys = {k for k in _concerned(fields, "street_key") if isinstance(k, str)}
        candidates = self._unfiltered + [n for k in keys for n in self._by_street.get(k, ())]
        return [
            self._subs[n] for n in sorted(candidates) if matches(self._subs[n], event_type, data)
        ]


def takes(prefix: str, event_type: str) -> bool:
    """Whether a subscription's type prefix takes `event_type`. Intake's types (every accepted
    signal, every feedback) go only to a prefix that names them: a catch-all such as
    `nl.wijkaanpak.` was never meant to carry every signal of the city."""
    if event_type.startswith(SIGNAL_TYPES) and not prefix.startswith(SIGNAL_TYPES[:-1]):
        return False
    return event_type.startswith(prefix)


def _concerned(fields: Mapping[str, Any], name: str) -> list[Any]:
    """The values an event names for filter `name`: in its single fields and in its list field
    (a wijkhub's `partners` taking part, its `street_keys`)."""
    *singles, listed = FILTER_FIELDS[name]
    values = [fields.get(single) for single in singles]
    many = fields.get(listed)
    if isinstance(many, list | tuple):  # JSON gives a list; a str must not match by letter
        values.extend(many)
    return values


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: the n-th retry waits factor × base^(n-1) seconds, capped."""

    factor_s: float = 1.0
    base: float = 2.0
    cap_s: float = 300.0
    max_attempts: int = 8
    retry_after_cap_s: float = 3600.0

    def delay(self, failed_attempts: int) -> timedelta:
        """How long to wait after `failed_attempts` (>= 1) attempts failed in a row."""
        exponent = max(failed_attempts - 1, 0)
        try:
            seconds = self.factor_s * self.base**exponent
        except OverflowError:
            seconds = self.cap_s
        return timedelta(seconds=min(seconds, self.cap_s))


@dataclass(frozen=True)
class AttemptResult:
    """What one HTTP attempt got: a status code, or an error when no answer came."""

    status_code: int | None
    latency_ms: int
    error: str | None = None
    retry_after: str | None = None
    # The start of a failed answer's body: for the operator's attempt log only.
    excerpt: str | None = None

    @property
    def logged_error(self) -> str | None:
        """The error as the operator's attempt log keeps it: with the receiver's words."""
        if self.error and self.excerpt:
            return f"{self.error}: {self.excerpt}"
        return self.error


Verdict = Literal["delivered", "retry", "dead", "gone"]


@dataclass(frozen=True)
class Decision:
    """What happens to a delivery after an attempt."""

    verdict: Verdict
    next_attempt_at: datetime | None = None
    reason: str | None = None


def decide(result: AttemptResult, attempt: int, policy: RetryPolicy, now: datetime) -> Decision:
    """2xx delivered; 410 ends the subscription; 429 waits Retry-After (the backoff at least);
    else backoff, then dead."""
    code = result.status_code
    if code is not None and 200 <= code < 300:
        return Decision("delivered")
    if code == 410:
        return Decision("gone", reason="the receiver answered 410 Gone")
    reason = result.error or f"the receiver answered {code}"
    if attempt >= policy.max_attempts:
        return Decision("dead", reason=f"{reason} (after {attempt} attempts)")
    wait = policy.delay(attempt)
    if code == 429:
        asked = retry_after(result.retry_after, now)
        if asked is not None:
            # The backoff is the floor: `Retry-After: 0` or a past date must not spend every
            # attempt within a second.
            wait = max(wait, min(asked, timedelta(seconds=policy.retry_after_cap_s)))
    return Decision("retry", next_attempt_at=now + wait, reason=reason)


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds or an HTTP date) as a wait from `now`; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))
