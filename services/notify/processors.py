"""Notify's processors: what live consumes and what a replay rebuilds, by construction the same."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from services.notify import hearing
from wijkbus import processor
from wijkbus.processor import BatchHandler, Processor

CONSUMER = "events"  # the live consumer's name: its inbox says when live handled an event


def processors(fan_out: BatchHandler[Any], event_topics: Sequence[str]) -> list[Processor[Any]]:
    """The fan-out of every event notify hears to the subscriptions it matches; its inbox claim
    (when it handled them) and its reading of the subscriptions under the hearing lock."""
    fan_outs = processor.events(CONSUMER, event_topics, fan_out)
    return [replace(fan_outs, before_claim=hearing.fanning_out)]
