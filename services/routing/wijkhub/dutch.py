"""How the wijkhub's reports write moments and numbers: in Dutch, in the municipality's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from wijkbus.web.dutch_time import MONTHS

NOTHING = "–"
WINDOWS = {"before": "voor", "during": "tijdens", "after": "na"}
"""The evaluation's windows by their Dutch names, as the reports and charts call them."""


def as_datetime(value: datetime | str) -> datetime:
    """A moment from the store (a datetime) or from JSON (an ISO 8601 string with offset)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def day(at: datetime, zone: ZoneInfo) -> str:
    """'1 december 2026', the local date."""
    local = at.astimezone(zone)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}"


def short_day(at: datetime, zone: ZoneInfo) -> str:
    """'1 dec', the local date for a chart's axis."""
    local = at.astimezone(zone)
    return f"{local.day} {MONTHS[local.month - 1][:3]}"


def moment(at: datetime, zone: ZoneInfo) -> str:
    """'1 december 2026 00:00', the local date and time."""
    return f"{day(at, zone)} {at.astimezone(zone):%H:%M}"


def span(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """'1 december 2026 00:00 tot 15 december 2026 00:00 (Europe/Amsterdam)'."""
    return f"{moment(start, zone)} tot {moment(end, zone)} ({zone.key})"


def number(value: float | None) -> str:
    """A figure with a decimal comma and at most three decimals; a dash for none."""
    if value is None:
        return NOTHING
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return ("0" if text == "-0" else text).replace(".", ",")


def hours(value: float | None) -> str:
    """'3,5 uur', or a dash when there is nothing to measure."""
    return NOTHING if value is None else f"{number(value)} uur"
