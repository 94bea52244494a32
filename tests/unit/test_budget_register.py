"""The household register: reading the CSV and what a re-import changes."""

from __future__ import annotations

import pytest

from services.budget.domain.households import Household, RegisterError, compare, parse_register

HEADER = "address_id,postcode,house_number,buurt_code\n"


def test_a_register_is_read_with_postcodes_normalised() -> None:
    rows = parse_register(HEADER + "a1, 9714 ab ,12,bu00140107\n")
    assert rows == [Household("a1", "9714AB", "12", "BU00140107")]


def test_every_bad_line_is_reported_and_nothing_is_returned() -> None:
    with pytest.raises(RegisterError) as caught:
        parse_register(HEADER + "a1,9714AB,1,BU00140107\na1,9714AB,2,BU00140107\n,0123XX,,BU1\n")
    assert caught.value.errors == [
        "line 3: address a1 appears twice",
        "line 4: address_id is empty, postcode '0123XX' is not like 9714AB, house_number is empty,"
        " buurt_code 'BU1' is not BU + 8 chars",
    ]


def test_a_register_without_its_columns_is_refused() -> None:
    with pytest.raises(RegisterError, match="missing column"):
        parse_register("id,postcode\n1,9714AB\n")


def test_a_reimport_reports_added_changed_removed_and_unchanged() -> None:
    current = {
        "a1": Household("a1", "9714AB", "1", "BU00140107"),
        "a2": Household("a2", "9714AB", "2", "BU00140107"),
        "a3": Household("a3", "9714AB", "3", "BU00140107"),
    }
    incoming = [
        Household("a1", "9714AB", "1", "BU00140107"),
        Household("a2", "9714AB", "2", "BU00140108"),
        Household("a4", "9714AB", "4", "BU00140107"),
    ]
    changes = compare(current, incoming)
    assert [h.address_id for h in changes.added] == ["a4"]
    assert [h.address_id for h in changes.changed] == ["a2"]
    assert changes.removed == ("a3",)
    assert changes.unchanged == 1
    same = compare(current, current.values())
    assert (same.added, same.changed, same.removed, same.unchanged) == ((), (), (), 3)
