"""How operator pages write moments, durations and money: Dutch, in Europe/Amsterdam, zone shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOTHING = "–"
MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def local(at: datetime | str, zone: ZoneInfo = AMSTERDAM) -> datetime:
    """A stored moment (datetime or ISO text; naive means UTC) in the municipality's zone."""
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def zone_name(at: datetime) -> str:
    """'CET' or 'CEST', the abbreviation the zone uses at that local moment."""
    return at.tzname() or str(at.tzinfo)


def moment(at: datetime | str | None, zone: ZoneInfo = AMSTERDAM) -> str:
    """'1 dec 2026 09:21 CET', a stored moment as an operator reads it; a dash for none."""
    if at is None:
        return NOTHING
    there = local(at, zone)
    return (
        f"{there.day} {MONTHS[there.month - 1][:3]} {there.year} {there:%H:%M} {zone_name(there)}"
    )


def clock(at: datetime | str, zone: ZoneInfo = AMSTERDAM) -> str:
    """'09:21:05 CET', the time of day for a 'bijgewerkt om …' line."""
    there = local(at, zone)
    return f"{there:%H:%M:%S} {zone_name(there)}"


def day(at: datetime | str, zone: ZoneInfo = AMSTERDAM) -> str:
    """'1 dec', the local date for a chart's axis."""
    there = local(at, zone)
    return f"{there.day} {MONTHS[there.month - 1][:3]}"


def date(at: datetime | str | None, zone: ZoneInfo = AMSTERDAM) -> str:
    """'1 december 2026', the local date; a dash for none."""
    if at is None:
        return NOTHING
    there = local(at, zone)
    return f"{there.day} {MONTHS[there.month - 1]} {there.year}"


def iso_local(at: datetime | str, zone: ZoneInfo = AMSTERDAM) -> str:
    """The machine form for a <time datetime=…> attribute, with its offset."""
    return local(at, zone).isoformat(timespec="milliseconds")


def duration(span: timedelta | float | None) -> str:
    """'45 minuten', '24 uur', '2 dagen', '3 dagen 6 uur': a span (or a number of hours)."""
    if span is None:
        return NOTHING
    minutes = round((span.total_seconds() if isinstance(span, timedelta) else span * 3600) / 60)
    if minutes < 120:
        return f"{minutes} {'minuut' if minutes == 1 else 'minuten'}"
    hours = round(minutes / 60)
    if hours < 48:
        return f"{hours} uur"
    days, rest = divmod(hours, 24)
    return f"{days} dagen" + (f" {rest} uur" if rest else "")


def euros(cents: int | None) -> str:
    """'€ 1.234,50' from whole cents; a dash for none."""
    if cents is None:
        return NOTHING
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}€ {whole:,}".replace(",", ".") + f",{rest:02d}"


def percent(part: int, whole: int) -> str:
    """'37,5%' of a whole; a dash when the whole is zero."""
    if whole == 0:
        return NOTHING
    text = f"{100 * part / whole:.1f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')}%"
