"""Intake's processors: partner records from every partner topic, and routing's events."""

from __future__ import annotations

from typing import Any

from contracts import topics
from services.intake.handlers import Intake
from wijkbus import processor
from wijkbus.processor import Processor


def processors(intake: Intake) -> list[Processor[Any]]:
    """Partner events (a pattern, so a partner added to the registry is consumed without a
    restart; dead letters keep a fingerprint, as partner records may hold a person in clear)
    and routing's events (who a signal is assigned to)."""
    return [
        processor.raw(
            "partner-events",
            [],
            intake.on_partner_records,
            pattern=topics.PARTNER_EVENTS_PATTERN,
            redact_dead_letters=True,
        ),
        processor.events("assignments", [topics.ROUTING_EVENTS], intake.on_routing_events),
    ]
