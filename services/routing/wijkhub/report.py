"""The wijkhub's evaluation report: an HTML section (and page), its JSON, and a PDF.

Only the hub's known facts (`facts.HUB_KEYS`) and the evaluation's numbers are written; the
definition of every figure is `evaluation`'s module docstring.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from contracts.wijkhubs import WijkhubEvaluation, WindowFigures
from services.routing.wijkhub import charts, figures
from services.routing.wijkhub.dutch import WINDOWS, day, moment, number
from services.routing.wijkhub.facts import hub_facts, public_hub

STYLE = Markup(
    "body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
    "th,td{border-bottom:1px solid #ccc;padding:.25rem .6rem;text-align:right}"
    "th:first-child,td:first-child{text-align:left}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}"
    "dt{font-weight:600}dd{margin:0}.caution{font-weight:600}svg.chart{max-width:100%;height:auto}"
)


def render_fragment(
    hub: Mapping[str, Any], evaluation: WijkhubEvaluation, zone: ZoneInfo
) -> Markup:
    """The report as an HTML section in Dutch, to put inside a page."""
    parts = [
        Markup("<h2>Evaluatie van de wijkhub {a}</h2>").format(a=hub["address"]),
        Markup(
            '<p class="as-of" data-as-of="{iso}">Stand van {at} ({zone}); de periode ervoor'
            " telt {weeks} weken.</p>"
        ).format(
            iso=evaluation.model_dump(mode="json")["as_of"],
            at=moment(evaluation.as_of, zone),
            zone=zone.key,
            weeks=number(evaluation.baseline_weeks),
        ),
        _facts(hub, zone),
        Markup("<h3>Meldingen</h3>"),
        _windows(evaluation, zone),
    ]
    for key, title, group in figures.groups(evaluation):
        parts.append(_table(figures.incident_table(key, title, group)))
    parts += [Markup("<h3>Wat veranderde er?</h3>"), _difference(evaluation)]
    parts += [charts.weekly_chart(evaluation, zone), charts.windows_chart(evaluation)]
    parts.append(Markup("<h3>Reactietijden (uren vanaf ontvangst)</h3>"))
    for key, title, group in figures.groups(evaluation):
        parts.append(_table(figures.response_table(key, title, group)))
    return Markup(
        '<section class="wijkhub-report" lang="nl" data-hub-id="{id}">{body}</section>'
    ).format(id=evaluation.hub_id, body=Markup("").join(parts))


def render_document(hub: Mapping[str, Any], evaluation: WijkhubEvaluation, zone: ZoneInfo) -> str:
    """A complete standalone HTML page around the report (what `--format html` writes)."""
    return str(
        Markup(
            '<!doctype html>\n<html lang="nl"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Evaluatie wijkhub {a}</title><style>{style}</style></head>"
            "<body>{fragment}</body></html>\n"
        ).format(a=hub["address"], style=STYLE, fragment=render_fragment(hub, evaluation, zone))
    )


def render_json(hub: Mapping[str, Any], evaluation: WijkhubEvaluation) -> str:
    """The hub's known facts and the evaluation as JSON, indented by 2."""
    document = {"hub": public_hub(hub), "evaluation": evaluation.model_dump(mode="json")}
    return json.dumps(document, indent=2, ensure_ascii=False)


def render_pdf(
    hub: Mapping[str, Any], evaluation: WijkhubEvaluation, zone: ZoneInfo, *, compress: bool = True
) -> bytes:
    """The report as a PDF (`compress=False` leaves its text readable in the bytes)."""
    from services.routing.wijkhub.pdf import render

    return render(hub, evaluation, zone, compress=compress)


def _facts(hub: Mapping[str, Any], zone: ZoneInfo) -> Markup:
    rows = Markup("").join(
        Markup('<dt>{label}</dt><dd data-hub="{key}">{text}</dd>').format(
            key=key, label=label, text=text
        )
        for key, label, text in hub_facts(hub, zone)
    )
    return Markup('<dl class="hub-facts">{rows}</dl>').format(rows=rows)


def _windows(evaluation: WijkhubEvaluation, zone: ZoneInfo) -> Markup:
    items = Markup("").join(
        Markup("<li><strong>{name}</strong>: {text}</li>").format(
            name=name, text=_span(getattr(evaluation.hub, window), zone)
        )
        for window, name in WINDOWS.items()
    )
    return Markup('<ul class="windows">{items}</ul>').format(items=items)


def _span(window: WindowFigures | None, zone: ZoneInfo) -> str:
    if window is None:
        return "nog niet: de wijkhub loopt nog"
    return f"{day(window.start, zone)} tot {day(window.end, zone)} ({number(window.weeks)} weken)"


def _table(table: figures.Table) -> Markup:
    head = Markup("").join(Markup("<th>{c}</th>").format(c=c) for c in table.columns)
    body = Markup("").join(
        Markup("<tr><th>{label}</th>{cells}</tr>").format(
            label=label, cells=Markup("").join(_cell(c) for c in cells)
        )
        for label, cells in table.rows
    )
    return Markup(
        '<table id="{id}"><caption>{title}</caption><thead><tr><th></th>{head}</tr></thead>'
        "<tbody>{body}</tbody></table>"
    ).format(id=table.key, title=table.title, head=head, body=body)


def _cell(cell: figures.Cell) -> Markup:
    count = Markup("") if cell.count is None else Markup(' data-count="{n}"').format(n=cell.count)
    return Markup('<td data-figure="{f}" data-value="{v}"{count}>{text}</td>').format(
        f=cell.figure, v="" if cell.value is None else cell.value, count=count, text=cell.text
    )


def _difference(evaluation: WijkhubEvaluation) -> Markup:
    did = evaluation.difference_in_differences
    sentences = figures.difference_in_words(evaluation)
    words = Markup("").join(
        Markup('<p class="{c}">{s}</p>').format(c="caution" if s == figures.CAUTION else "", s=s)
        for s in sentences
    )
    figure = Markup(
        '<p>Verschil-in-verschillen: <strong data-figure="difference_in_differences"'
        ' data-value="{v}">{text}</strong> meldingen per straat per week.</p>'
    ).format(v="" if did is None else did, text=number(did))
    return figure + words
