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


ADDRESSED = "address_id,postcode,house_number,buurt_code,street,city,buurt_name\n"


def test_a_register_with_addresses_gives_street_city_and_the_buurt_s_name() -> None:
    rows = parse_register(
        ADDRESSED + "a1,9714AB,12a,BU00140107, Oude  Boteringestraat ,Groningen,De Hoogte\n"
    )
    assert rows == [
        Household("a1", "9714AB", "12a", "BU00140107", "Oude Boteringestraat", "Groningen")
    ]
    assert rows[0].buurt_name == "De Hoogte"


def test_street_and_city_come_together_and_every_line_needs_both() -> None:
    with pytest.raises(RegisterError, match=r"missing column\(s\): city"):
        parse_register(HEADER.strip() + ",street\na1,9714AB,1,BU00140107,Dorpsstraat\n")
    with pytest.raises(RegisterError) as caught:
        parse_register(
            ADDRESSED
            + "a1,9714AB,1,BU00140107,,Groningen,\na2,9714AB,2,BU00140107,Dorpsstraat, ,\n"
        )
    assert caught.value.errors == ["line 2: street is empty", "line 3: city is empty"]


def test_one_buurt_has_one_name_in_a_register() -> None:
    with pytest.raises(RegisterError) as caught:
        parse_register(
            ADDRESSED
            + "a1,9714AB,1,BU00140107,Dorpsstraat,Groningen,De Hoogte\n"
            + "a2,9714AB,2,BU00140107,Dorpsstraat,Groningen,Hoogte\n"
            + "a3,9714AB,3,BU00140107,Dorpsstraat,Groningen,\n"
        )
    assert caught.value.errors == [
        "line 3: buurt BU00140107 is named 'De Hoogte' on an earlier line"
    ]


def test_a_new_street_is_a_change_and_a_new_buurt_name_is_not() -> None:
    before = Household("a1", "9714AB", "1", "BU00140107", "Dorpsstraat", "Groningen", "De Hoogte")
    renamed = Household("a1", "9714AB", "1", "BU00140107", "Dorpsstraat", "Groningen", "Hoogte")
    moved = Household("a1", "9714AB", "1", "BU00140107", "Kerkstraat", "Groningen", "De Hoogte")
    assert compare({"a1": before}, [renamed]).unchanged == 1
    assert [h.street for h in compare({"a1": before}, [moved]).changed] == ["Kerkstraat"]
