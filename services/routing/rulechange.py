"""A new rule set version: what changed (a line diff of the YAML), announced as an event.

`RulesChanged` belongs in contracts/events.py once the contracts owner takes it over; until then
routing defines it here so the event on routing.events has a schema.
"""

from __future__ import annotations

import difflib
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from contracts.fields import UtcDatetime
from services.routing.domain import RuleSet

ROUTING_RULES_CHANGED_TYPE = "nl.wijkaanpak.routing.rules-changed"


class RulesChanged(BaseModel):
    """A new routing rule set came into force: who loaded it, when, and the diff."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    municipality: str
    version: str
    previous_version: str
    changed_by: str
    changed_at: UtcDatetime
    diff: str


def diff(old: RuleSet, new: RuleSet) -> str:
    """A unified diff of the two rule sets' YAML text."""
    lines = difflib.unified_diff(
        old.text.splitlines(keepends=True),
        new.text.splitlines(keepends=True),
        fromfile=f"versie {old.version}",
        tofile=f"versie {new.version}",
    )
    return "".join(lines)


def rules_changed(old: RuleSet, new: RuleSet, who: str, now: datetime) -> RulesChanged:
    """The event for `new` replacing `old`."""
    return RulesChanged(
        municipality=new.municipality,
        version=new.version,
        previous_version=old.version,
        changed_by=who,
        changed_at=now,
        diff=diff(old, new),
    )
