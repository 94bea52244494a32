"""The wijkhub report as a PDF (fpdf2, core fonts): the same facts, tables and words as the
HTML, and the weekly chart drawn with lines and rectangles.

Core fonts know Latin-1 only, so other characters are written as their nearest ASCII.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import ceil
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from contracts.wijkhubs import WeekPoint, WijkhubEvaluation
from services.routing.wijkhub import figures
from services.routing.wijkhub.charts import WEEKLY_TITLE
from services.routing.wijkhub.dutch import moment, number, short_day
from services.routing.wijkhub.evaluation import WEEK
from services.routing.wijkhub.facts import hub_facts

FONT = "Helvetica"
ASCII = str.maketrans(
    {"–": "-", "—": "-", "−": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "€": "EUR"}
)
HUB_RGB, OTHER_RGB = (31, 95, 168), (217, 115, 13)
CHART_W, CHART_H = 170.0, 55.0


def latin1(text: str) -> str:
    """The text in the characters a core font has: known ones mapped, the rest as '?'."""
    return text.translate(ASCII).encode("latin-1", "replace").decode("latin-1")


def render(
    hub: Mapping[str, Any], evaluation: WijkhubEvaluation, zone: ZoneInfo, *, compress: bool
) -> bytes:
    """The report's PDF bytes; the same input gives the same bytes."""
    pdf = FPDF(format="A4")
    pdf.set_compression(compress)
    pdf.set_creation_date(evaluation.as_of)
    pdf.set_title(latin1(f"Evaluatie wijkhub {hub['address']}"))
    pdf.add_page()
    _heading(pdf, f"Evaluatie van de wijkhub {hub['address']}", 15)
    _paragraph(pdf, f"Stand van {moment(evaluation.as_of, zone)} ({zone.key}).")
    for _, label, text in hub_facts(hub, zone):
        pdf.set_font(FONT, "B", 9)
        pdf.cell(45, 5, latin1(label))
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(0, 5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _heading(pdf, "Meldingen", 12)
    for key, title, group in figures.groups(evaluation):
        _table(pdf, figures.incident_table(key, title, group))
    _heading(pdf, "Wat veranderde er?", 12)
    for sentence in figures.difference_in_words(evaluation):
        _paragraph(pdf, sentence, bold=sentence == figures.CAUTION)
    _weekly_chart(pdf, evaluation, zone)
    _heading(pdf, "Reactietijden (uren vanaf ontvangst)", 12)
    for key, title, group in figures.groups(evaluation):
        _table(pdf, figures.response_table(key, title, group))
    return bytes(pdf.output())


def _heading(pdf: FPDF, text: str, size: int) -> None:
    pdf.ln(2)
    pdf.set_font(FONT, "B", size)
    pdf.multi_cell(0, size * 0.5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)


def _paragraph(pdf: FPDF, text: str, bold: bool = False) -> None:
    pdf.set_font(FONT, "B" if bold else "", 9)
    pdf.multi_cell(0, 5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)


def _table(pdf: FPDF, table: figures.Table) -> None:
    pdf.set_font(FONT, "B", 9)
    pdf.cell(0, 6, latin1(table.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 8)
    widths = (60, *(30 for _ in table.columns))
    aligns = ("LEFT", *("RIGHT" for _ in table.columns))
    with pdf.table(col_widths=widths, width=sum(widths), align="LEFT", text_align=aligns) as t:
        t.row(["", *(latin1(c) for c in table.columns)])
        for label, cells in table.rows:
            t.row([latin1(label), *(latin1(c.text) for c in cells)])
    pdf.ln(3)


@dataclass(frozen=True)
class Frame:
    """Where the weekly chart sits on the page (mm) and its scale."""

    left: float
    top: float
    slot: float
    highest: float

    @property
    def bottom(self) -> float:
        return self.top + CHART_H

    def y(self, value: float) -> float:
        return self.bottom - value / self.highest * CHART_H


def _weekly_chart(pdf: FPDF, evaluation: WijkhubEvaluation, zone: ZoneInfo) -> None:
    weeks = evaluation.weekly
    if not weeks:
        return
    if pdf.get_y() + CHART_H + 25 > pdf.h - pdf.b_margin:
        pdf.add_page()
    _paragraph(pdf, WEEKLY_TITLE, bold=True)
    highest = max(max(w.hub for w in weeks), *(w.comparison_per_street or 0 for w in weeks), 1)
    frame = Frame(pdf.l_margin + 10, pdf.get_y() + 4, CHART_W / len(weeks), highest)
    with pdf.local_context():
        pdf.set_font(FONT, "", 7)
        _bars(pdf, frame, weeks, zone)
        if evaluation.comparison is not None:
            _comparison(pdf, frame, weeks)
        _markers(pdf, frame, evaluation)
    pdf.set_y(frame.bottom + 16)


def _bars(pdf: FPDF, frame: Frame, weeks: tuple[WeekPoint, ...], zone: ZoneInfo) -> None:
    pdf.text(pdf.l_margin, frame.top + 2, number(frame.highest))
    pdf.text(pdf.l_margin, frame.bottom, "0")
    pdf.line(frame.left, frame.bottom, frame.left + CHART_W, frame.bottom)
    pdf.set_fill_color(*HUB_RGB)
    every = ceil(len(weeks) / 8)
    for index, week in enumerate(weeks):
        x = frame.left + index * frame.slot
        top = frame.y(week.hub)
        pdf.rect(x + frame.slot * 0.15, top, frame.slot * 0.7, frame.bottom - top, style="F")
        if index % every == 0:
            pdf.text(x, frame.bottom + 4, latin1(short_day(week.week_start, zone)))
    pdf.text(frame.left + CHART_W / 2 - 6, frame.bottom + 9, "week van")
    legend = "balken: straten van de wijkhub (samen); lijn: per andere straat van de buurt"
    pdf.text(frame.left, frame.bottom + 13, legend)


def _comparison(pdf: FPDF, frame: Frame, weeks: tuple[WeekPoint, ...]) -> None:
    pdf.set_draw_color(*OTHER_RGB)
    pdf.set_line_width(0.5)
    pdf.polyline(
        [
            (frame.left + (i + 0.5) * frame.slot, frame.y(w.comparison_per_street or 0.0))
            for i, w in enumerate(weeks)
        ]
    )


def _markers(pdf: FPDF, frame: Frame, evaluation: WijkhubEvaluation) -> None:
    pdf.set_draw_color(80, 80, 80)
    pdf.set_line_width(0.2)
    pdf.set_dash_pattern(dash=1.5, gap=1)
    origin = evaluation.weekly[0].week_start
    for label, at in (("start", evaluation.period_start), ("einde", evaluation.period_end)):
        x = (at - origin) / WEEK * frame.slot
        if 0 <= x <= CHART_W:
            pdf.line(frame.left + x, frame.top, frame.left + x, frame.bottom)
            pdf.text(frame.left + x - 3, frame.top - 1, label)
