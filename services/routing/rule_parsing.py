"""Reading a routing rule set from its YAML and checking it as a whole: every problem is
reported with the field it concerns, so an operator fixes them all at once.

Pure: no I/O; the partners a rule may name are passed in.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from services.routing.domain import Rule, RuleSet


@dataclass(frozen=True)
class RuleProblem:
    """One reason a rule set is refused: the field it concerns (`rules[3].responder`; empty for
    the document as a whole) and the sentence an operator reads."""

    field: str
    text: str


class RuleSetError(ValueError):
    """A rule set that cannot be used; `problems` lists every reason, `errors` with its field."""

    def __init__(self, errors: list[RuleProblem]) -> None:
        self.errors = errors
        self.problems = [e.text for e in errors]
        super().__init__("routing rule set refused: " + "; ".join(self.problems))


def parse_rules(text: str, known_partners: Collection[str]) -> RuleSet:
    """Read and check a rule set; raises RuleSetError listing every problem found."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleSetError(
            [RuleProblem("", f"not valid YAML: {' '.join(str(exc).split())}")]
        ) from exc
    if not isinstance(raw, dict):
        raise RuleSetError(
            [RuleProblem("", "expected a mapping with version, municipality and rules")]
        )
    entries = raw.get("rules")
    problems: list[RuleProblem] = []
    if not isinstance(entries, list) or not entries:
        problems.append(RuleProblem("rules", "rules: required, a list of at least one rule"))
        entries = []
    header: RuleSet | None = None
    try:
        header = RuleSet.model_validate({**raw, "rules": (), "text": text})
    except ValidationError as exc:
        problems += _describe_all(exc)
    # Each rule is checked on its own so one broken rule does not hide the others' problems.
    rules: list[tuple[int, Rule]] = []
    for index, entry in enumerate(entries):
        try:
            rules.append((index, Rule.model_validate(entry)))
        except ValidationError as exc:
            problems += _describe_all(exc, f"rules[{index}]")
    problems += _check_rules(rules, set(known_partners))
    problems += _check_default(entries)
    if header is not None and header.gebiedsmanager not in (None, *known_partners):
        text = f"gebiedsmanager {header.gebiedsmanager!r} is not a registered partner"
        problems.append(RuleProblem("gebiedsmanager", text))
    if header is not None:
        ids = [t.id for t in header.thresholds]
        problems += [
            RuleProblem(f"thresholds[{ids.index(i)}].id", f"thresholds: duplicate id {i!r}")
            for i in sorted(set(ids))
            if ids.count(i) > 1
        ]
    if problems or header is None:
        raise RuleSetError(problems)
    return header.model_copy(update={"rules": tuple(rule for _, rule in rules)})


def _describe_all(exc: ValidationError, where: str = "") -> list[RuleProblem]:
    errors = exc.errors()
    # pydantic also calls a list "too short" when its only item was invalid: say it once.
    return [
        _describe(e, where)
        for e in errors
        if not (
            e["type"] == "too_short"
            and any(o["loc"][: len(e["loc"])] == e["loc"] and o is not e for o in errors)
        )
    ]


def _describe(error: Any, where: str) -> RuleProblem:
    for part in error["loc"]:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    if error["type"] == "extra_forbidden":
        return RuleProblem(where, f"{where}: unknown field")
    if error["type"] == "missing":
        return RuleProblem(where, f"{where}: required field is missing")
    return RuleProblem(where, f"{where}: {error['msg']}")


def _check_rules(rules: list[tuple[int, Rule]], partners: set[str]) -> list[RuleProblem]:
    problems: list[RuleProblem] = []
    seen: set[str] = set()
    for index, rule in rules:
        at, name = f"rules[{index}]", f"rules[{index}] ({rule.id})"
        if rule.id in seen:
            problems.append(RuleProblem(f"{at}.id", f"{name}: duplicate rule id"))
        seen.add(rule.id)
        chain = [("responder", rule.responder)]
        chain += [(f"escalation[{n}].partner", e.partner) for n, e in enumerate(rule.escalation)]
        problems += [
            RuleProblem(f"{at}.{field}", f"{name}: {field} {partner!r} is not a registered partner")
            for field, partner in chain
            if partner not in partners
        ]
        if rule.default and rule.match is not None:
            text = f"{name}: the default rule must not have a match block"
            problems.append(RuleProblem(f"{at}.match", text))
        if not rule.default and (rule.match is None or not rule.match.model_fields_set):
            text = f"{name}: a rule needs a match block (only the default matches all)"
            problems.append(RuleProblem(f"{at}.match", text))
    return problems


def _check_default(entries: list[Any]) -> list[RuleProblem]:
    defaults = [
        i for i, e in enumerate(entries) if isinstance(e, dict) and e.get("default") is True
    ]
    if not defaults:
        text = "no default rule: the last rule must have `default: true` and no match block"
        return [RuleProblem("rules", text)]
    if len(defaults) > 1:
        text = f"more than one default rule: {', '.join(f'rules[{i}]' for i in defaults)}"
        return [RuleProblem(f"rules[{defaults[1]}].default", text)]
    if defaults[0] != len(entries) - 1:
        text = (
            f"rules[{defaults[0]}]: the default rule must be the last rule; "
            "rules after it could never match"
        )
        return [RuleProblem(f"rules[{defaults[0]}].default", text)]
    return []
