"""Reading a registry file (partners, operators): a YAML list, each entry checked by a model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def read_entries(
    path: Path, model: type[M], what: str, error: type[ValueError], label: Callable[[object], str]
) -> tuple[list[M], list[str]]:
    """The file's valid entries and a problem for each invalid field (`entry N (label): ...`);
    `error` for a file that cannot be read or is no list of `what`s."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"cannot read {what} registry {path}: {exc}") from exc
    if not isinstance(raw, list):
        raise error(f"{path}: expected a list of {what}s")
    entries: list[M] = []
    problems: list[str] = []
    for index, entry in enumerate(raw):
        try:
            entries.append(model.model_validate(entry))
        except ValidationError as exc:
            for e in exc.errors():
                where = ".".join(str(p) for p in e["loc"])
                problems.append(f"entry {index}{label(entry)}: {where}: {e['msg']}")
    return entries, problems
