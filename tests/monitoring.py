"""The PromQL the deployment asks of the services: Grafana's panels and Prometheus' alert rules,
and the metric names each expression reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
# Series Prometheus makes itself for every scraped target; no service exports them.
PROMETHEUS_OWN = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})
_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless"}
    | {"bool", "offset", "inf", "nan"}
)


def queries() -> list[tuple[str, str]]:
    """(where, expression) of every Grafana panel target and every alert rule."""
    found = []
    for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                found.append((f"{path.name}: panel {panel['title']!r}", target["expr"]))
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert", rule.get("record"))
                found.append((f"{path.name}: rule {name}", rule["expr"]))
    return found


def rule_files() -> list[Path]:
    """The rule files deploy/prometheus.yml loads (relative to itself)."""
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    return [DEPLOY / name for name in config.get("rule_files", [])]


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: identifiers that are no function, keyword,
    label (in braces, or the list after by/without/on/ignoring) or duration."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings: label values
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        rest = text[match.end() :].lstrip()
        if match.group() in _KEYWORDS or rest.startswith("("):
            continue
        names.add(match.group())
    return names
