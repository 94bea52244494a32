"""The household register: one household per address, read from a CSV and compared to the last."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

COLUMNS = ("address_id", "postcode", "house_number", "buurt_code")
# Optional, for the letters: both or neither (a register of before has neither).
ADDRESS_COLUMNS = ("street", "city")
_POSTCODE = re.compile(r"^[1-9][0-9]{3}[A-Z]{2}$")
_BUURT = re.compile(r"^BU[0-9A-Z]{8}$")


class RegisterError(ValueError):
    """The register file cannot be read; `errors` lists every bad line."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Household:
    """One address in the register; street and city are empty when the register has none."""

    address_id: str
    postcode: str
    house_number: str
    buurt_code: str
    street: str = ""
    city: str = ""
    # The buurt's name, as the register gives it: about the buurt, not a change of the household.
    buurt_name: str = field(default="", compare=False)


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
    columns = reader.fieldnames or []
    addressed = any(c in columns for c in ADDRESS_COLUMNS)
    wanted = COLUMNS + ADDRESS_COLUMNS if addressed else COLUMNS
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise RegisterError([f"missing column(s): {', '.join(missing)}"])
    households: dict[str, Household] = {}
    names: dict[str, str] = {}
    errors: list[str] = []
    for line, row in enumerate(reader, start=2):
        address_id = (row["address_id"] or "").strip()
        postcode = (row["postcode"] or "").replace(" ", "").upper()
        house_number = (row["house_number"] or "").strip()
        buurt_code = (row["buurt_code"] or "").strip().upper()
        street, city, buurt_name = (_text(row, c) for c in ("street", "city", "buurt_name"))
        problems = [
            what
            for what, bad in (
                ("address_id is empty", not address_id),
                (f"postcode {postcode!r} is not like 9714AB", not _POSTCODE.match(postcode)),
                ("house_number is empty", not house_number),
                (f"buurt_code {buurt_code!r} is not BU + 8 chars", not _BUURT.match(buurt_code)),
                (f"address {address_id} appears twice", address_id in households),
                ("street is empty", addressed and not street),
                ("city is empty", addressed and not city),
                (
                    f"buurt {buurt_code} is named {names.get(buurt_code)!r} on an earlier line",
                    bool(buurt_name) and names.setdefault(buurt_code, buurt_name) != buurt_name,
                ),
            )
            if bad
        ]
        if problems:
            errors.append(f"line {line}: {', '.join(problems)}")
            continue
        households[address_id] = Household(
            address_id, postcode, house_number, buurt_code, street, city, buurt_name
        )
    if errors:
        raise RegisterError(errors)
    return list(households.values())


def _text(row: Mapping[str, str | None], column: str) -> str:
    """An optional free-text cell with its spaces tidied ("" when the column is absent)."""
    return " ".join((row.get(column) or "").split())


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
