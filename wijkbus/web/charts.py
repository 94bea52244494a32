"""Server-rendered SVG charts for operator pages: no script, no CDN, each with a table beside it.

Every chart is a <figure> holding an <svg role="img"> with <title> and <desc>, and the same
numbers as a <table> in a <details> — the text alternative for screen readers and for people
who would rather read. Colours come from a fixed palette; sizes from the viewBox, so a chart
shrinks with the page instead of overflowing it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import count

from markupsafe import Markup

PALETTE = ("#01689b", "#e17000", "#39870c", "#a90061", "#8fcae7", "#ffb612", "#5c5c5c")
WIDTH, ROW, BAR_LABEL = 640, 26, 190
HEIGHT, PAD = 240, 36
_ids = count(1)


def _figure(kind: str, title: str, svg: Markup, table: Markup) -> Markup:
    """The figure around a chart: its caption, the SVG, and the table that says the same."""
    return Markup(
        '<figure class="chart chart-{kind}"><figcaption>{title}</figcaption>'
        '<div class="plot" tabindex="0" role="region" aria-label="{title}">{svg}</div>'
        "<details><summary>Als tabel</summary>{table}</details></figure>"
    ).format(kind=kind, title=title, svg=svg, table=table)


def _svg(title: str, desc: str, width: int, height: int, body: Markup) -> Markup:
    """An accessible SVG: role img, labelled by its own <title> and <desc>."""
    ident = f"chart{next(_ids)}"
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {w} {h}"'
        ' width="100%" preserveAspectRatio="xMinYMin meet"'
        ' aria-labelledby="{i}-t {i}-d"><title id="{i}-t">{title}</title>'
        '<desc id="{i}-d">{desc}</desc>{body}</svg>'
    ).format(w=width, h=height, i=ident, title=title, desc=desc, body=body)


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> Markup:
    """A plain table: first column is the label, the rest are numbers."""
    cells = Markup("").join(Markup('<th scope="col">{}</th>').format(h) for h in head)
    body = Markup("").join(
        Markup("<tr><th scope='row'>{}</th>{}</tr>").format(
            row[0], Markup("").join(Markup('<td class="num">{}</td>').format(v) for v in row[1:])
        )
        for row in rows
    )
    return Markup("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>").format(cells, body)


def _text(x: float, y: float, text: object, anchor: str = "start", size: int = 12) -> Markup:
    """An SVG text label."""
    return Markup(
        '<text x="{:.1f}" y="{:.1f}" font-size="{}" text-anchor="{}" fill="#1b1b1b">{}</text>'
    ).format(x, y, size, anchor, text)


def _rect(x: float, y: float, w: float, h: float, colour: str, tip: str) -> Markup:
    """A bar with its value as a hover tooltip."""
    return Markup(
        '<rect class="bar" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
        "<title>{}</title></rect>"
    ).format(x, y, max(w, 0), max(h, 0), colour, tip)


def _legend(series: Sequence[str], y: float) -> Markup:
    """Coloured swatches naming each series, in one row under the plot."""
    parts, x = [], 0.0
    for index, name in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(_rect(x, y, 12, 12, colour, name) + _text(x + 16, y + 11, name))
        x += 24 + 7 * len(name)
    return Markup('<g class="legend">{}</g>').format(Markup("").join(parts))


def bar_chart(
    bars: Sequence[tuple[str, float]], *, title: str, desc: str, unit: str = ""
) -> Markup:
    """Horizontal bars, one per label, longest scaled to the full width."""
    top = max((value for _, value in bars), default=0) or 1
    span = WIDTH - BAR_LABEL - 60
    rows = []
    for index, (label, value) in enumerate(bars):
        y = index * ROW + 4
        tip = f"{label}: {_round(value)}{unit}"
        rows.append(
            _text(BAR_LABEL - 6, y + 15, _clip(label), "end")
            + _rect(BAR_LABEL, y, span * value / top, ROW - 8, PALETTE[0], tip)
            + _text(BAR_LABEL + span * value / top + 4, y + 15, f"{_round(value)}{unit}")
        )
    height = max(len(bars), 1) * ROW + 8
    svg = _svg(title, desc, WIDTH, height, Markup("").join(rows))
    table = _table(("", title), [(label, f"{_round(value)}{unit}") for label, value in bars])
    return _figure("bar", title, svg, table)


def stacked_bars(
    bars: Sequence[tuple[str, Sequence[float]]],
    *,
    series: Sequence[str],
    title: str,
    desc: str,
) -> Markup:
    """Horizontal bars split into coloured parts, one part per series, with a legend."""
    top = max((sum(parts) for _, parts in bars), default=0) or 1
    span = WIDTH - BAR_LABEL - 60
    rows = []
    for index, (label, parts) in enumerate(bars):
        y, x = index * ROW + 4, float(BAR_LABEL)
        rows.append(_text(BAR_LABEL - 6, y + 15, _clip(label), "end"))
        for part, (name, value) in enumerate(zip(series, parts, strict=True)):
            w = span * value / top
            rows.append(
                _rect(
                    x,
                    y,
                    w,
                    ROW - 8,
                    PALETTE[part % len(PALETTE)],
                    f"{label}, {name}: {_round(value)}",
                )
            )
            x += w
        rows.append(_text(x + 4, y + 15, _round(sum(parts))))
    legend_y = max(len(bars), 1) * ROW + 8
    body = Markup("").join(rows) + _legend(series, legend_y)
    svg = _svg(title, desc, WIDTH, legend_y + 20, body)
    table = _table(("", *series), [(label, *parts) for label, parts in bars])
    return _figure("stacked", title, svg, table)


def line_chart(
    points: Sequence[str],
    lines: Mapping[str, Sequence[float]],
    *,
    title: str,
    desc: str,
) -> Markup:
    """One polyline per series over shared x labels (oldest first), with a legend."""
    top = max((v for values in lines.values() for v in values), default=0) or 1
    plot_w, plot_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    step = plot_w / max(len(points) - 1, 1)
    parts = [
        Markup('<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#d0d0d0"/>').format(
            PAD, PAD + plot_h, PAD + plot_w
        ),
        _text(PAD - 4, PAD + 4, _round(top), "end"),
        _text(PAD - 4, PAD + plot_h, 0, "end"),
    ]
    every = max(len(points) // 6, 1)
    for index, label in enumerate(points):
        if index % every == 0:
            parts.append(_text(PAD + index * step, HEIGHT - PAD + 16, label, "middle", 11))
    for index, (name, values) in enumerate(lines.items()):
        xy = " ".join(
            f"{PAD + i * step:.1f},{PAD + plot_h - plot_h * v / top:.1f}"
            for i, v in enumerate(values)
        )
        parts.append(
            Markup(
                '<polyline class="line" fill="none" stroke="{}" stroke-width="2" points="{}">'
                "<title>{}</title></polyline>"
            ).format(PALETTE[index % len(PALETTE)], xy, name)
        )
    body = Markup("").join(parts) + _legend(list(lines), HEIGHT - 14)
    svg = _svg(title, desc, WIDTH, HEIGHT + 4, body)
    table = _table(
        ("", *lines), [(p, *(v[i] for v in lines.values())) for i, p in enumerate(points)]
    )
    return _figure("line", title, svg, table)


def _clip(label: str, most: int = 28) -> str:
    """A label short enough for the label column; the full one is in the bar's tooltip."""
    return label if len(label) <= most else label[: most - 1] + "…"


def _round(value: float) -> str:
    """A figure as Dutch writes it: no needless '.0', a decimal comma."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}".replace(".", ",")
