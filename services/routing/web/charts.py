"""Charts drawn on the server as inline SVG: no script, no CDN, nothing the CSP must allow.

Each chart is an SVG with a title and a description for screen readers, and the same numbers
as a table (its text alternative), which the page shows under the chart on request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup, escape

from services.routing.wijkhub.dutch import MONTHS

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 40, 30, 10
PAIR = ("#01689b", "#a4000f")  # open, te laat: the dashboard's accent and its "bad" red
PALETTE = ("#01689b", "#e17000", "#39870c", "#a90061", "#8fcae7", "#673327", "#ffb612", "#555")


@dataclass(frozen=True)
class Chart:
    """An SVG chart and its numbers as a table: column heads, then one row per label."""

    id: str
    title: str
    svg: Markup
    heads: list[str]
    rows: list[list[str]] = field(default_factory=list)


def week_label(monday: date) -> str:
    """'16 nov': a week on a chart's axis, by its Monday."""
    return f"{monday.day} {MONTHS[monday.month - 1][:3]}"


def _svg(id: str, title: str, desc: str, body: str, height: int = HEIGHT) -> Markup:
    return Markup(
        '<svg class="chart" id="{id}" role="img" aria-labelledby="{id}-t {id}-d"'
        ' viewBox="0 0 {w} {h}" preserveAspectRatio="xMinYMin meet"'
        ' xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{title}</title>'
        '<desc id="{id}-d">{desc}</desc>'
    ).format(id=id, w=WIDTH, h=height, title=title, desc=desc) + Markup(  # noqa: S704
        body + "</svg>"  # every text in `body` went through escape() where it was drawn
    )


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 13) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"'
        f' fill="#333">{escape(text)}</text>'
    )


def _legend(names: Sequence[str], y: float, colours: Sequence[str] = PALETTE) -> str:
    parts, x = [], LEFT
    for n, name in enumerate(names):
        colour = colours[n % len(colours)]
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, y, name, "start"))
        x += 26 + 8 * len(name)
    return "".join(parts)


def _short(label: str, room: int = 24) -> str:
    """A label cut to fit beside the bars (the whole one is in the bars' titles and table)."""
    return label if len(label) <= room else label[: room - 1] + "…"


def stacked_bars(id: str, title: str, labels: Sequence[str], series: dict[str, list[int]]) -> Chart:
    """Bars per label (e.g. a week), stacked per series (e.g. a categorie), with a legend."""
    names = sorted(series)
    totals = [sum(series[s][i] for s in names) for i in range(len(labels))]
    top = max([*totals, 1])
    plot_h, slot = HEIGHT - BOTTOM - TOP, (WIDTH - LEFT) / max(len(labels), 1)
    body = [_text(LEFT - 6, TOP + 8, str(top), "end"), _text(LEFT - 6, HEIGHT - BOTTOM, "0", "end")]
    for i, label in enumerate(labels):
        y: float = HEIGHT - BOTTOM
        for n, name in enumerate(names):
            h = plot_h * series[name][i] / top
            if h:
                colour = PALETTE[n % len(PALETTE)]
                body.append(
                    f'<rect class="bar" x="{LEFT + i * slot + 2:.1f}" y="{y - h:.1f}"'
                    f' width="{slot - 4:.1f}" height="{h:.1f}" fill="{colour}">'
                    f"<title>{escape(label)}: {escape(name)} {series[name][i]}</title></rect>"
                )
                y -= h
        body.append(_text(LEFT + (i + 0.5) * slot, HEIGHT - BOTTOM + 16, label, size=12))
    body.append(_legend(names, HEIGHT + 16))
    desc = f"{sum(totals)} in totaal; " + "; ".join(f"{name} {sum(series[name])}" for name in names)
    rows = [
        [label, *(str(series[s][i]) for s in names), str(totals[i])]
        for i, label in enumerate(labels)
    ]
    svg = _svg(id, title, desc, "".join(body), HEIGHT + 26)
    return Chart(id, title, svg, ["Week", *names, "Totaal"], rows)


def paired_bars(id: str, title: str, rows: Sequence[tuple[str, int, int]]) -> Chart:
    """Per label (e.g. a partner) two horizontal bars: its first and second number."""
    top, line = max([1, *(r[1] for r in rows)]), 30
    height = TOP + line * max(len(rows), 1) + 24
    left, room = 180, WIDTH - 180 - 40
    body = []
    for n, (label, first, second) in enumerate(rows):
        y = TOP + n * line
        body.append(_text(left - 6, y + 16, _short(label), "end"))
        for k, (value, colour) in enumerate(zip((first, second), PAIR, strict=True)):
            w = room * value / top
            body.append(
                f'<rect class="bar" x="{left}" y="{y + 2 + 12 * k}" width="{w:.1f}" height="11"'
                f' fill="{colour}"><title>{escape(label)}: {value}</title></rect>'
            )
            body.append(_text(left + w + 4, y + 12 + 12 * k, str(value), "start", 12))
    body.append(_legend(["open", "te laat"], height - 6, PAIR))
    desc = "; ".join(f"{r[0]}: {r[1]} open, {r[2]} te laat" for r in rows) or "geen"
    svg = _svg(id, title, desc, "".join(body), height)
    return Chart(
        id, title, svg, ["Partner", "Open", "Te laat"], [[r[0], str(r[1]), str(r[2])] for r in rows]
    )


def percent_line(
    id: str, title: str, labels: Sequence[str], shares: Sequence[float | None], counts: list[int]
) -> Chart:
    """A line of percentages (0–100) per label; a label without a value leaves a gap."""
    plot_h, slot = HEIGHT - BOTTOM - TOP, (WIDTH - LEFT) / max(len(labels), 1)
    body = [_text(LEFT - 6, TOP + 8, "100%", "end"), _text(LEFT - 6, HEIGHT - BOTTOM, "0%", "end")]
    points = []
    for i, (label, share) in enumerate(zip(labels, shares, strict=True)):
        x = LEFT + (i + 0.5) * slot
        body.append(_text(x, HEIGHT - BOTTOM + 16, label, size=12))
        if share is not None:
            y = HEIGHT - BOTTOM - plot_h * share / 100
            points.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle class="punt" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{PALETTE[0]}">'
                f"<title>{escape(label)}: {share:.0f}% op tijd</title></circle>"
            )
    if points:
        body.insert(
            0,
            f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="2"'
            f' points="{" ".join(points)}"/>',
        )
    judged = [(label, s) for label, s in zip(labels, shares, strict=True) if s is not None]
    desc = "; ".join(f"{label}: {s:.0f}%" for label, s in judged) or "nog niets te beoordelen"
    rows = [
        [label, "—" if s is None else f"{s:.0f}%", str(c)]
        for label, s, c in zip(labels, shares, counts, strict=True)
    ]
    svg = _svg(id, title, desc, "".join(body))
    return Chart(id, title, svg, ["Week", "Op tijd opgepakt", "Beoordeeld"], rows)
