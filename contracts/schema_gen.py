"""Generate contracts/schemas/*.json from the models: `python -m contracts.schema_gen`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from contracts.envelope import CloudEvent
from contracts.events import EVENT_TYPES
from contracts.receipts import ReceiptData
from contracts.signals import AcknowledgedData, Location, Person, ResolvedData, SignalData

SCHEMA_DIR = Path(__file__).parent / "schemas"

_PARTNER_MODELS: tuple[type[BaseModel], ...] = (
    CloudEvent,
    SignalData,
    Location,
    Person,
    AcknowledgedData,
    ResolvedData,
    ReceiptData,
)


def schema_file_name(model: type[BaseModel]) -> str:
    """The schema file name of a model: kebab case of its class name, e.g. signal-data.json."""
    words = re.findall(r"[A-Z][a-z]*|[a-z]+|[0-9]+", model.__name__)
    if model is CloudEvent:
        words = ["cloudevent"]
    return "-".join(word.lower() for word in words) + ".json"


def models() -> list[type[BaseModel]]:
    """Every model that gets a schema file, without duplicates, in a stable order."""
    return list(dict.fromkeys([*_PARTNER_MODELS, *EVENT_TYPES.values()]))


def generate() -> dict[str, dict[str, Any]]:
    """File name to JSON Schema, one per model."""
    return {schema_file_name(model): model.model_json_schema() for model in models()}


def render(schema: dict[str, Any]) -> str:
    """The exact text a schema file holds."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema into `directory` and remove stale *.json files there."""
    directory.mkdir(parents=True, exist_ok=True)
    schemas = generate()
    for stale in directory.glob("*.json"):
        if stale.name not in schemas:
            stale.unlink()
    written = []
    for name, schema in schemas.items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path)
