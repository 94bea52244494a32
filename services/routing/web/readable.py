"""How routing's pages write rules, durations, counts and moments: as people would, in Dutch.

The Jinja filters read the municipality's zone from the rule set in force, so every time on
a page is local and says which zone it is in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import jinja2
from fastapi.templating import Jinja2Templates

from services.routing.domain import Match, MinRecent, Threshold
from services.routing.hours import HoursKind
from services.routing.wijkhub.dutch import number

NOTHING = "—"


def either(values: Iterable[object]) -> str:
    """'overlast', 'overlast of vernieling', 'overlast, vernieling of vervuiling'."""
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} of {words[-1]}"


def duration(hours: float, kind: HoursKind = "kalenderuren") -> str:
    """'24 uur', '2 dagen', '16 werkuren': whole days from 48 calendar hours on."""
    if kind == "werkuren":
        return f"{number(hours)} werkuren"
    if hours >= 48 and hours % 24 == 0:
        return f"{int(hours // 24)} dagen"
    return f"{number(hours)} uur"


def recent(condition: MinRecent) -> str:
    """'3 of meer meldingen (overlast) in de laatste 30 dagen'."""
    what = f" ({either(condition.categorie)})" if condition.categorie else ""
    days = "dag" if condition.days == 1 else f"{condition.days} dagen"
    return f"{condition.count} of meer meldingen{what} in de straat in de laatste {days}"


def match_sentence(match: Match | None) -> str:
    """A rule's conditions as one Dutch sentence, e.g. 'categorie overlast en in buurt …'."""
    if match is None:
        return "alle signalen"
    parts: list[str] = []
    if match.categorie:
        parts.append(f"categorie {either(match.categorie)}")
    if match.subcategorie:
        parts.append(f"subcategorie {either(match.subcategorie)}")
    if match.severity:
        parts.append(f"ernst {either(match.severity)}")
    if match.buurt:
        parts.append(f"in buurt {either(match.buurt)}")
    if match.wijk:
        parts.append(f"in wijk {either(match.wijk)}")
    if match.weekday:
        parts.append(f"op {either(match.weekday)}")
    if match.time_of_day:
        window = match.time_of_day
        parts.append(f"tussen {window.start:%H:%M} en {window.end:%H:%M}")
    if match.min_recent:
        parts.append(recent(match.min_recent))
    if match.wijkhub is not None:
        parts.append("in een lopende wijkhub" if match.wijkhub else "buiten een lopende wijkhub")
    if not parts:
        return "alle signalen"
    sentence = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} en {parts[-1]}"
    return sentence[0].upper() + sentence[1:]


def threshold_sentence(threshold: Threshold) -> str:
    """'3 of meer meldingen (overlast of vernieling) in de laatste 30 dagen'."""
    return recent(
        MinRecent(days=threshold.window_days, count=threshold.count, categorie=threshold.categorie)
    )


def counts_text(counts: Mapping[str, int] | str | None) -> str:
    """A crossing's counts per categorie: 'overlast 3, vernieling 1' (JSON text accepted)."""
    found: Mapping[str, Any] = json.loads(counts) if isinstance(counts, str) else counts or {}
    shown = [f"{categorie} {n}" for categorie, n in found.items()]
    return ", ".join(shown) or NOTHING


def street_text(street: str | None, city: str | None, key: str) -> str:
    """'Asingastraat, Groningen', or the key when routing never stored the name."""
    if not street:
        return key
    return f"{street}, {city}" if city else street


def street_of(row: Mapping[str, Any]) -> str:
    """A row's street (its `street`, `city` and `street_key`) as people write it."""
    return street_text(row.get("street"), row.get("city"), row["street_key"])


@jinja2.pass_context
def local_time(context: jinja2.runtime.Context, at: datetime | None) -> str:
    """'20-11-2026 22:00 CET': the moment in the municipality's zone, with the zone."""
    if at is None:
        return NOTHING
    zone = context["request"].app.state.routing.ruleset.zone
    return f"{at.astimezone(zone):%d-%m-%Y %H:%M %Z}"


@jinja2.pass_context
def clock_time(context: jinja2.runtime.Context, at: datetime) -> str:
    """'22:00:05 CET': the time of day in the municipality's zone, with the zone."""
    zone = context["request"].app.state.routing.ruleset.zone
    return f"{at.astimezone(zone):%H:%M:%S %Z}"


def install(templates: Jinja2Templates) -> None:
    """Give routing's templates these filters and tests."""
    templates.env.filters.update(
        tijd=local_time,
        klok=clock_time,
        duur=duration,
        als=match_sentence,
        drempel=threshold_sentence,
        aantallen=counts_text,
        straat=street_of,
    )
