"""All letters of a buurt as one print-ready PDF (fpdf2, core fonts): A4, one letter a page.

The address sits where a window envelope (EA5/6, window left) shows it. Core fonts are written
in Windows-1252, which holds Dutch (ë, é, ï, ü) and €; other characters are written as their
nearest ASCII or '?'.
"""

from __future__ import annotations

import io
from datetime import datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from services.budget.letter_page import LetterPage

FONT = "Helvetica"
ENCODING = "windows-1252"
_NEAREST = str.maketrans({"−": "-", "ĳ": "ij", "Ĳ": "IJ"})
LEFT, WIDTH = 20.0, 170.0
ADDRESS_TOP = 50.0  # mm from the top edge: inside the envelope's window
QR_SIZE = 38.0  # mm, quiet zone included
BOTTOM = 15.0  # mm of the page's bottom edge no printer is sure to print


class LetterTooLongError(ValueError):
    """A letter's text runs past its one page (a buurt or street name far beyond the usual)."""


def core_text(text: str) -> str:
    """The text in the characters a core font has: known ones mapped, the rest as '?'."""
    return text.translate(_NEAREST).encode(ENCODING, "replace").decode(ENCODING)


def render(pages: list[LetterPage], *, title: str, created: datetime) -> bytes:
    """The PDF bytes of the letters, one A4 page each, in the order given."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.core_fonts_encoding = ENCODING
    pdf.set_auto_page_break(False)  # one letter a page: a letter that does not fit is refused
    pdf.set_margins(LEFT, 20.0)
    pdf.set_title(core_text(title))
    pdf.set_creation_date(created)
    for page in pages:
        _letter(pdf, page)
    return bytes(pdf.output())


def _letter(pdf: FPDF, page: LetterPage) -> None:
    pdf.add_page()
    pdf.set_font(FONT, "", 10)
    pdf.set_xy(LEFT, 20.0)
    pdf.cell(WIDTH, 5, core_text(f"Gemeente {page.municipality}"))
    pdf.set_xy(LEFT, ADDRESS_TOP)
    pdf.set_font(FONT, "", 11)
    for line in page.address_lines:
        pdf.cell(90, 5.5, core_text(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_xy(LEFT, 100.0)
    pdf.set_font(FONT, "B", 16)
    pdf.cell(WIDTH, 9, core_text(page.heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    _paragraphs(pdf, page.paragraphs)
    top = pdf.get_y() + 2
    pdf.set_xy(LEFT, top + (QR_SIZE - 12) / 2)
    pdf.set_font("Courier", "B", 15)
    pdf.set_line_width(0.5)
    pdf.cell(pdf.get_string_width(page.code) + 8, 12, page.code, border=1, align="C")
    pdf.image(io.BytesIO(page.qr_png), x=LEFT + WIDTH - QR_SIZE, y=top, w=QR_SIZE, h=QR_SIZE)
    pdf.set_xy(LEFT, top + QR_SIZE + 4)
    _paragraphs(pdf, page.after_code)
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(68, 68, 68)
    pdf.multi_cell(
        WIDTH, 4.5, core_text(page.footnote), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_text_color(27, 27, 27)
    if pdf.get_y() > pdf.h - BOTTOM:
        raise LetterTooLongError(
            "a letter does not fit on one A4 page: is a buurt or street name far too long?"
        )


def _paragraphs(pdf: FPDF, paragraphs: tuple[str, ...]) -> None:
    pdf.set_font(FONT, "", 11)
    for text in paragraphs:
        pdf.multi_cell(WIDTH, 5.5, core_text(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2.5)
