"""The event types notify delivers, and which subscriptions can never hear any of them.

Built from contracts/: the types on the topics notify consumes and the fields of their data, so
a new type or field there is known here without a second list to keep up.
"""

from __future__ import annotations

from contracts.events import EVENT_TYPES
from contracts.published import TOPIC_TYPES
from services.notify.domain import FILTER_FIELDS, Filters, takes

# The types on every internal topic, which are the topics NotifySettings consumes (intake's types
# go only to a prefix naming them: domain.takes); tests/unit/test_notify_topics.py holds them equal.
DELIVERED_TYPES: tuple[str, ...] = tuple(t for types in TOPIC_TYPES.values() for t in types)


def _fields(event_type: str) -> frozenset[str]:
    return frozenset(EVENT_TYPES[event_type].model_fields)


def _can_match(event_type: str, filters: Filters) -> bool:
    """Whether an event of `event_type` carries a field for every filter that is set."""
    fields = _fields(event_type)
    return all(
        fields & set(FILTER_FIELDS[name])
        for name in ("partner", "buurt_code", "street_key")
        if getattr(filters, name) is not None
    )


def never_matching(types: list[str], filters: Filters) -> list[dict[str, str]]:
    """An error per type prefix that no delivered event can ever match under `filters`."""
    errors = []
    for index, prefix in enumerate(types):
        named = [t for t in DELIVERED_TYPES if takes(prefix, t)]
        if not named:
            errors.append(_error(index, f"no event type notify delivers starts with {prefix!r}"))
        elif not any(_can_match(t, filters) for t in named):
            errors.append(_error(index, f"no event of {prefix!r} names {_what(filters)}"))
    return errors


def _what(filters: Filters) -> str:
    """The filters as a reader would say them, for the message of a filter that cannot match."""
    said = []
    if filters.partner is not None:
        said.append(f"a partner (this subscription hears only events naming {filters.partner!r})")
    if filters.buurt_code is not None:
        said.append("a buurt_code")
    if filters.street_key is not None:
        said.append("a street_key")
    return " and ".join(said)


def _error(index: int, message: str) -> dict[str, str]:
    return {"field": f"types.{index}", "message": message}
