"""The committed JSON Schemas in contracts/schemas/ match the models."""

from __future__ import annotations

import json

import pytest

from contracts.schema_gen import SCHEMA_DIR, generate, render

REGENERATE = "run `python -m contracts.schema_gen` and commit the result"
SCHEMAS = generate()


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_matches_its_model(name: str) -> None:
    path = SCHEMA_DIR / name
    assert path.exists(), f"{name} is missing; {REGENERATE}"
    committed = path.read_text(encoding="utf-8")
    assert json.loads(committed) == SCHEMAS[name], f"{name} is out of date; {REGENERATE}"
    assert committed == render(SCHEMAS[name]), f"{name} is not formatted as generated; {REGENERATE}"


def test_no_stale_schema_files_remain() -> None:
    stale = sorted(p.name for p in SCHEMA_DIR.glob("*.json") if p.name not in SCHEMAS)
    assert not stale, f"schema files without a model: {stale}; {REGENERATE}"


@pytest.mark.parametrize(
    "name",
    [
        "cloudevent.json",
        "signal-data.json",
        "location.json",
        "person.json",
        "acknowledged-data.json",
        "resolved-data.json",
        "receipt-data.json",
        "signal-accepted.json",
        "street-threshold-crossed.json",
    ],
)
def test_each_contract_model_has_a_schema(name: str) -> None:
    assert name in SCHEMAS
