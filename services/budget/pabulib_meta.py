"""The rules a pabulib META section declares, read by name; a rule we do not implement is refused.

`READ` lists every key the service reads and what it does with it; `INFORMATION` the keys that
describe the round without changing its outcome; `REFUSED` the rules we know and do not
implement. Any other key is refused too: a round is never decided with a rule silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from services.budget.domain import Leftover
from services.budget.domain.ballot_rules import BallotRules


class PabulibError(ValueError):
    """The file is not a pabulib file we can read (the message says where and why)."""


READ: Mapping[str, str] = MappingProxyType({
    "budget": "the round's budget",
    "vote_type": "approval or choose-1 ballots; any other type is refused",
    "rule": "the funding rule: greedy, equalshares or equalshares/add1",
    "num_projects": "checked against the PROJECTS section",
    "num_votes": "checked against the VOTES section",
    "min_length": "fewest projects a ballot approves (checked on import and casting)",
    "max_length": "most projects a ballot approves (checked on import and casting)",
    "min_sum_cost": "least a ballot's projects cost together (checked on import and casting)",
    "max_sum_cost": "most a ballot's projects cost together (checked on import and casting)",
    "max_length_per_category": "most projects a ballot approves within one category",
    "max_sum_cost_per_category": "per category (META categories order), most a ballot's "
    "projects in it cost together",
    "min_project_cost": "least a project costs (checked on import)",
    "max_project_cost": "most a project costs (checked on import)",
    "categories": "the names budget_per_category and max_sum_cost_per_category refer to",
    "leftover_budget": "how the greedy rule spends what is left: fund what fits, or partly "
    "fund one project",
    "comment": "read for whether leftover funding is bound by the budget_per_* caps",
})  # fmt: skip
# budget_per_<attribute> (budget_per_category, budget_per_neighborhood, ...) caps the sum cost of
# the selected projects per value of that PROJECTS column; the values are named, in order, by
# the META key in CAP_NAMES (e.g. neighborhoods), and are read as well.
CAP_PREFIX = "budget_per_"
INFORMATION = frozenset({
    "description", "country", "unit", "subunit", "instance", "district", "edition", "date_begin",
    "date_end", "language", "currency", "acknowledgments", "fully_funded", "experimental",
    "neighborhoods", "subdistricts", "districts",
})  # fmt: skip
REFUSED: Mapping[str, str] = MappingProxyType({
    "min_project_score_threshold": "a minimum score for a project to be funded",
    "min_length_per_category": "a least number of projects per category on each ballot",
    "min_sum_cost_per_category": "a least cost per category on each ballot",
    "scoring_fn": "ordinal ballots", "min_points": "points ballots",
    "max_points": "points ballots", "min_sum_points": "points ballots",
    "max_sum_points": "points ballots", "default_score": "scoring ballots",
})  # fmt: skip
RULES = ("greedy", "equalshares", "equalshares/add1")


def check_keys(meta: Mapping[str, str]) -> None:
    """Refuse, by name, every META key that is a rule we do not implement or do not know."""
    for key in meta:
        if key in READ or key in INFORMATION or key.startswith(CAP_PREFIX):
            continue
        if key in REFUSED:
            raise PabulibError(f"META {key} ({REFUSED[key]}) is not implemented")
        raise PabulibError(f"META {key} is not a rule this service knows")
    rule = meta.get("rule", "")
    if rule not in RULES:
        raise PabulibError(f"META rule {rule!r} is not implemented; known: {', '.join(RULES)}")
    if rule != "greedy" and (caps_of(meta) or leftover_of(meta) is not Leftover.NONE):
        raise PabulibError(f"rule {rule} with budget_per_* caps or leftover_budget is not "
                           "implemented (only greedy rounds have them)")  # fmt: skip


def names_of(meta: Mapping[str, str], attribute: str) -> list[str]:
    """The values of a project attribute as META lists them (categories, neighborhoods, ...)."""
    key = "categories" if attribute == "category" else f"{attribute}s"
    return [v.strip() for v in meta.get(key, "").split(",") if v.strip()]


def caps_of(meta: Mapping[str, str]) -> dict[str, dict[str, int]]:
    """Every budget_per_<attribute> cap, by attribute and value."""
    caps = {}
    for key, raw in meta.items():
        if not key.startswith(CAP_PREFIX) or not raw.strip():
            continue
        attribute = key.removeprefix(CAP_PREFIX)
        names = names_of(meta, attribute)
        amounts = [whole_number(c, key) for c in raw.split(",")]
        if len(names) != len(amounts):
            raise PabulibError(f"{key}: {len(amounts)} budgets for {len(names)} names in META")
        caps[attribute] = dict(zip(names, amounts, strict=True))
    return caps


def leftover_of(meta: Mapping[str, str]) -> Leftover:
    """The leftover rule, refused by its text when it is not one we implement."""
    text = meta.get("leftover_budget", "").strip()
    try:
        return Leftover(text)
    except ValueError:
        raise PabulibError(f"META leftover_budget {text!r} is not implemented") from None


def leftover_within_caps(meta: Mapping[str, str], override: bool | None = None) -> bool:
    """Whether the caps bind leftover funding, as the comment says (or as the importer says).

    A comment sentence on a cap that speaks of the leftover decides it (bound, unless it says
    not); one that calls the cap a bound on what "the voting rule" selects leaves leftover
    funding free (Amsterdam's wording). If the comment says neither, the file is refused.
    """
    caps = [f"{CAP_PREFIX}{a}" for a in caps_of(meta)]
    if override is not None or not caps or leftover_of(meta) is Leftover.NONE:
        return bool(override)
    sentences = re.split(r"#\d+:", meta.get("comment", ""))
    verdicts = set()
    for key in caps:
        about = [s.lower() for s in sentences if key in s]
        if any("leftover" in s for s in about):
            negated = any(re.search(r"\b(not|no|regardless|ignor\w*|except)\b", s)
                          for s in about if "leftover" in s)  # fmt: skip
            verdicts.add(not negated)
        elif any("selected by the voting rule" in s for s in about):
            verdicts.add(False)
        else:
            raise PabulibError(
                f"the comment does not say whether leftover funding is bound by {key}; "
                "say it on import (--leftover-within-caps yes|no)"
            )
    if len(verdicts) > 1:
        raise PabulibError("the comment binds leftover funding by some caps and not by others")
    return verdicts.pop()


def ballot_rules(meta: Mapping[str, str]) -> BallotRules:
    """The bounds on ballots and projects the META section sets."""
    caps = [whole_number(c, "max_sum_cost_per_category") for c in
            meta.get("max_sum_cost_per_category", "").split(",") if c.strip()]  # fmt: skip
    names = names_of(meta, "category")
    if caps and len(caps) != len(names):
        raise PabulibError(f"max_sum_cost_per_category: {len(caps)} amounts for "
                           f"{len(names)} categories")  # fmt: skip
    return BallotRules(
        min_length=_opt_int(meta, "min_length"),
        max_length=_opt_int(meta, "max_length"),
        min_sum_cost=_opt_int(meta, "min_sum_cost"),
        max_sum_cost=_opt_int(meta, "max_sum_cost"),
        max_length_per_category=_opt_int(meta, "max_length_per_category"),
        max_sum_cost_per_category=MappingProxyType(dict(zip(names, caps, strict=False))),
        min_project_cost=_opt_int(meta, "min_project_cost"),
        max_project_cost=_opt_int(meta, "max_project_cost"),
    )


def whole_number(text: str, what: str) -> int:
    """A META or PROJECTS value that must be a whole number; refused by name otherwise."""
    try:
        return int(text.strip())
    except ValueError:
        raise PabulibError(f"{what}: {text!r} is not a whole number") from None


def _opt_int(meta: Mapping[str, str], key: str) -> int | None:
    value = meta.get(key)
    return whole_number(value, key) if value and value.strip() else None
