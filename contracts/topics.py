"""Kafka topic names: the one place they are spelled out."""

from __future__ import annotations

import re

SIGNALS_ACCEPTED = "signals.accepted"
SIGNALS_FEEDBACK = "signals.feedback"
ROUTING_EVENTS = "routing.events"
STREETS_EVENTS = "streets.events"
WIJKHUBS_EVENTS = "wijkhubs.events"
BUDGET_EVENTS = "budget.events"
NOTIFY_EVENTS = "notify.events"

PARTNER_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
_PARTNER_ID = re.compile(PARTNER_ID_PATTERN)
_SERVICE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_PARTNER_EVENTS_TOPIC = re.compile(r"^partners\.([a-z0-9][a-z0-9-]{0,63})\.events$")
_PARTNER_RECEIPTS_TOPIC = re.compile(r"^partners\.[a-z0-9][a-z0-9-]{0,63}\.receipts$")


def _checked_partner_id(partner_id: str) -> str:
    # A partner id becomes part of a topic name (and an ACL), so a stray dot or
    # upper-case letter must fail here rather than create a topic nobody reads.
    if not _PARTNER_ID.fullmatch(partner_id):
        raise ValueError(f"partner id must be a slug of [a-z0-9-], got {partner_id!r}")
    return partner_id


#: faststream pattern for every partner's events topic (`{partner}` is the partner id).
PARTNER_EVENTS_PATTERN = "partners.{partner}.events"


def partner_events(partner_id: str) -> str:
    """Topic a partner writes its CloudEvents to."""
    return f"partners.{_checked_partner_id(partner_id)}.events"


def partner_receipts(partner_id: str) -> str:
    """Topic on which a partner reads the receipts for its events."""
    return f"partners.{_checked_partner_id(partner_id)}.receipts"


def dead_letters(service: str) -> str:
    """Dead-letter topic of one service."""
    if not _SERVICE.fullmatch(service):
        raise ValueError(f"service name must match [a-z][a-z0-9_-]*, got {service!r}")
    return f"{service}.deadletters"


def partner_id_from_events_topic(topic: str) -> str | None:
    """The partner id in a `partners.<id>.events` topic name, or None for any other topic."""
    match = _PARTNER_EVENTS_TOPIC.fullmatch(topic)
    return match.group(1) if match else None


def is_partner_receipts(topic: str) -> bool:
    """Whether `topic` is a partner's receipts topic (`partners.<id>.receipts`)."""
    return _PARTNER_RECEIPTS_TOPIC.fullmatch(topic) is not None
