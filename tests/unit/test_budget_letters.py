"""A letter's address block, its link, and the PDF's pages and characters (no I/O)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from services.budget.letter_page import LetterPage, address_lines, compose, resident_link
from services.budget.letter_pdf import LetterTooLongError, core_text, render
from services.budget.register import Letter

CODE = "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-23"


def test_the_address_block_is_as_postnl_wants_it_and_falls_back_without_a_street() -> None:
    addressed = Letter("9712GH", "12a", "BU00140107", CODE, "Oude Boteringestraat", "Groningen")
    assert address_lines(addressed) == (
        "Aan de bewoners van", "Oude Boteringestraat 12a", "9712 GH  GRONINGEN",
    )  # fmt: skip
    bare = Letter("9712GH", "12a", "BU00140107", CODE)
    assert address_lines(bare) == ("Aan de bewoners van", "huisnummer 12a", "9712 GH")


def test_the_link_carries_the_code_also_after_a_query_of_the_site() -> None:
    assert resident_link("https://x.nl/buurt", CODE) == f"https://x.nl/buurt?code={CODE}"
    assert resident_link("https://x.nl/b?taal=nl", CODE) == f"https://x.nl/b?taal=nl&code={CODE}"


def test_dutch_text_keeps_its_accents_and_the_euro_in_the_pdf_font() -> None:
    assert core_text("één € 10,00 – Ĳsselmeer Ŝ") == "één € 10,00 – IJsselmeer ?"


def letter_pages(*letters: Letter) -> list[LetterPage]:
    return [
        compose(x, municipality="Groningen", year=2027, allowance_cents=1000,
                site_url="https://x.nl/buurt")
        for x in letters
    ]  # fmt: skip


def test_the_pdf_has_one_page_a_letter_and_refuses_a_letter_that_would_not_fit() -> None:
    first = Letter("9712GH", "1", "BU00140107", CODE, "Oude Boteringestraat", "Groningen")
    second = Letter("9712GH", "2", "BU00140107", CODE, "Kort", "Groningen", "De Hoogte")
    created = datetime(2027, 1, 1, tzinfo=UTC)
    reader = PdfReader(io.BytesIO(render(letter_pages(first, second), title="t", created=created)))
    assert len(reader.pages) == 2
    assert "Kort 2" in reader.pages[1].extract_text()

    endless = Letter("9712GH", "3", "BU00140107", CODE, "Kort", "Groningen", "Hoogte " * 400)
    with pytest.raises(LetterTooLongError):
        render(letter_pages(endless), title="t", created=created)
