"""The resident's proposal form: amounts as residents type them, every problem by its field."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from services.budget.web.proposal_form import euros_to_cents, read

GOOD = {"titel": "Bankje", "beschrijving": "", "kosten": "250", "naam": "Anna",
        "email": "anna@example.nl", "telefoon": ""}  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("250", 25000), ("250,5", 25050), ("250,50", 25050), ("€ 1.250,50", 125050),
     ("1.250", 125000), ("12.50", 1250), ("1 250", 125000), ("tien", None), ("1,2,3", None),
     ("-5", None), ("", None), ("1.25.0", None)],
)  # fmt: skip
def test_an_amount_reads_the_dutch_way(typed: str, cents: int | None) -> None:
    assert euros_to_cents(typed) == cents


def test_a_complete_proposal_has_no_problems_and_a_sealable_contact() -> None:
    proposal = read(FormData({**GOOD, "titel": "  Bankje bij de speeltuin "}))
    assert proposal.problems == {}
    assert proposal.values["titel"] == "Bankje bij de speeltuin"
    assert proposal.cost_cents == 25000
    assert proposal.contact.email == "anna@example.nl" and proposal.contact.phone is None


def test_each_problem_is_named_at_its_own_field() -> None:
    proposal = read(FormData({**GOOD, "titel": "ab", "kosten": "0", "naam": "",
                              "email": "", "telefoon": ""}))  # fmt: skip
    assert set(proposal.problems) == {"titel", "kosten", "naam", "email"}
    assert proposal.problems["kosten"] == "Het bedrag moet meer dan € 0 zijn."
    assert proposal.problems["email"].startswith("Vul een e-mailadres of een telefoonnummer in")


def test_a_phone_number_that_is_none_is_refused_at_its_field() -> None:
    proposal = read(FormData({**GOOD, "email": "", "telefoon": "bel me"}))
    assert proposal.problems == {"telefoon": "Dit is geen geldig telefoonnummer, bijvoorbeeld "
                                 "06 12345678."}  # fmt: skip
    assert read(FormData({**GOOD, "email": "", "telefoon": "06 1234 5678"})).problems == {}


def test_too_long_or_unstorable_text_is_refused_at_the_field() -> None:
    proposal = read(FormData({**GOOD, "beschrijving": "x" * 4001, "naam": "An\x00na"}))
    assert proposal.problems["beschrijving"] == "Dit is te lang: hoogstens 4000 tekens."
    assert "teken" in proposal.problems["naam"]
    assert (
        read(FormData({**GOOD, "kosten": "2.000.000"}))
        .problems["kosten"]
        .startswith("Het bedrag is te hoog")
    )
