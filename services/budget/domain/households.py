"""The household register: one household per address, read from a CSV and compared to the last."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

COLUMNS = ("address_id", "postcode", "house_number", "buurt_code")
_POSTCODE = re.compile(r"^[1-9][0-9]{3}[A-Z]{2}$")
_BUURT = re.compile(r"^BU[0-9A-Z]{8}$")


class RegisterError(ValueError):
    """The register file cannot be read; `errors` lists every bad line."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Household:
    """One address in the register."""

    address_id: str
    postcode: str
    house_number: str
    buurt_code: str


@dataclass(frozen=True)
class RegisterChanges:
    """What a re-import changes: added, changed and removed addresses, and how many stay equal."""

    added: tuple[Household, ...]
    changed: tuple[Household, ...]
    removed: tuple[str, ...]
    unchanged: int


def parse_register(text: str) -> list[Household]:
    """Read the CSV register; raise RegisterError listing every invalid or duplicate line."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RegisterError([f"missing column(s): {', '.join(missing)}"])
    households: dict[str, Household] = {}
    errors: list[str] = []
    for line, row in enumerate(reader, start=2):
        address_id = (row["address_id"] or "").strip()
        postcode = (row["postcode"] or "").replace(" ", "").upper()
        house_number = (row["house_number"] or "").strip()
        buurt_code = (row["buurt_code"] or "").strip().upper()
        problems = [
            what
            for what, bad in (
                ("address_id is empty", not address_id),
                (f"postcode {postcode!r} is not like 9714AB", not _POSTCODE.match(postcode)),
                ("house_number is empty", not house_number),
                (f"buurt_code {buurt_code!r} is not BU + 8 chars", not _BUURT.match(buurt_code)),
                (f"address {address_id} appears twice", address_id in households),
            )
            if bad
        ]
        if problems:
            errors.append(f"line {line}: {', '.join(problems)}")
            continue
        households[address_id] = Household(address_id, postcode, house_number, buurt_code)
    if errors:
        raise RegisterError(errors)
    return list(households.values())


def compare(current: Mapping[str, Household], incoming: Iterable[Household]) -> RegisterChanges:
    """What changes when `incoming` replaces the `current` register (by address id)."""
    added, changed, unchanged, seen = [], [], 0, set()
    for household in incoming:
        seen.add(household.address_id)
        before = current.get(household.address_id)
        if before is None:
            added.append(household)
        elif before != household:
            changed.append(household)
        else:
            unchanged += 1
    removed = tuple(sorted(set(current) - seen))
    return RegisterChanges(tuple(added), tuple(changed), removed, unchanged)
