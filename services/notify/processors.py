"""Notify's processors: what live consumes and what a replay rebuilds, by construction the same."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from contracts.envelope import CloudEvent
from wijkbus import processor
from wijkbus.processor import Processor

OnEvent = Callable[[asyncpg.Connection, CloudEvent], Awaitable[None]]
CONSUMER = "events"


def processors(on_event: OnEvent, event_topics: Sequence[str]) -> list[Processor[Any]]:
    """The fan-out of every event notify hears to the subscriptions it matches."""
    return [processor.events(CONSUMER, event_topics, processor.each(on_event))]
