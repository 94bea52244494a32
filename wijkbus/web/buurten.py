"""Buurt names for operator pages: 'De Hoogte (BU00140107)' where the name is known."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=8)
def names(path: Path | None) -> dict[str, str]:
    """The buurten's names by code from a CSV with buurt_code and buurt_name; {} without one.

    Raises ValueError (an OSError when unreadable) for a file without those columns: every
    service reads it once at start (wijkbus.http), so a wrong file stops it there."""
    if path is None:
        return {}
    with path.open(newline="", encoding="utf-8") as file:
        rows = csv.DictReader(file)
        if rows.fieldnames and not {"buurt_code", "buurt_name"} <= set(rows.fieldnames):
            raise ValueError(f"{path} needs columns buurt_code, buurt_name")
        return {
            row["buurt_code"].strip(): row["buurt_name"].strip()
            for row in rows
            if row.get("buurt_code") and row.get("buurt_name")
        }


def label(code: str | None, known: dict[str, str], name: str | None = None) -> str:
    """'De Hoogte (BU00140107)' with `name` or a known one; the code alone; a dash for none."""
    if not code:
        return "–"
    shown = name or known.get(code)
    return f"{shown} ({code})" if shown else code
