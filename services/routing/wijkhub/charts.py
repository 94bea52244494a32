"""The wijkhub report's charts as inline SVG: no script, no external file, all text escaped.

Every bar carries its number in data attributes, so a browser test can read the figures back
and compare them with the evaluation's JSON.
"""

from __future__ import annotations

from math import ceil
from zoneinfo import ZoneInfo

from markupsafe import Markup

from contracts.wijkhubs import GroupFigures, WeekPoint, WijkhubEvaluation
from services.routing.wijkhub.dutch import WINDOWS, number, short_day
from services.routing.wijkhub.evaluation import WEEK

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 40, 52
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
HUB_COLOUR, OTHER_COLOUR, MARK_COLOUR = "#1f5fa8", "#d9730d", "#555555"
WEEKLY_TITLE = "Meldingen per week: de straten van de wijkhub en de andere straten van de buurt"
WINDOWS_TITLE = "Meldingen per straat per week voor, tijdens en na de wijkhub"


def weekly_chart(evaluation: WijkhubEvaluation, zone: ZoneInfo) -> Markup:
    """Bars of the hub's incidents per week, a line of the comparison's per street, and the
    hub's start and end marked."""
    weeks = evaluation.weekly
    if not weeks:
        return _svg(WEEKLY_TITLE, Markup('<text x="{x}" y="{x}">geen weken</text>').format(x=LEFT))
    top = _ceiling(max(max(w.hub for w in weeks), *(w.comparison_per_street or 0 for w in weeks)))
    slot = PLOT_W / len(weeks)
    parts = [_y_axis(top, "meldingen"), _x_label("week van")]
    every = ceil(len(weeks) / 10)
    for index, week in enumerate(weeks):
        x = LEFT + index * slot
        parts.append(_bar(x + slot * 0.15, slot * 0.7, week.hub, top, _week_data(week)))
        if index % every == 0:
            parts.append(_tick(x + slot / 2, short_day(week.week_start, zone)))
    if evaluation.comparison is not None:
        parts.append(_comparison_line(weeks, slot, top))
    for label, at in (("start", evaluation.period_start), ("einde", evaluation.period_end)):
        offset = (at - weeks[0].week_start) / WEEK * slot
        if 0 <= offset <= PLOT_W:
            parts.append(_marker(LEFT + offset, label))
    parts.append(_legend("straten van de wijkhub (samen)", "per andere straat van de buurt"))
    return _svg(WEEKLY_TITLE, Markup("").join(parts))


def windows_chart(evaluation: WijkhubEvaluation) -> Markup:
    """Grouped bars of incidents per street per week before, during and after the hub."""
    groups: list[tuple[str, GroupFigures]] = [("hub", evaluation.hub)]
    if evaluation.comparison is not None:
        groups.append(("vergelijking", evaluation.comparison))
    values = [bar for group in groups for bar in _values(group)]
    top = _ceiling(max((value for *_, value in values), default=0.0))
    slot = PLOT_W / len(WINDOWS)
    width = slot * 0.7 / len(groups)
    parts = [_y_axis(top, "meldingen per straat per week")]
    parts += [_tick(LEFT + (i + 0.5) * slot, name) for i, name in enumerate(WINDOWS.values())]
    for group_index, window_index, name, window, value in values:
        x = LEFT + window_index * slot + slot * 0.15 + group_index * width
        data = Markup('data-window="{w}" data-group="{g}" data-value="{v}"').format(
            w=window, g=name, v=value
        )
        colour = HUB_COLOUR if name == "hub" else OTHER_COLOUR
        parts.append(_bar(x, width, value, top, data, colour, f"{window}, {name}: "))
    parts.append(_legend("straten van de wijkhub", "andere straten van de buurt"))
    return _svg(WINDOWS_TITLE, Markup("").join(parts))


def _values(group: tuple[str, GroupFigures]) -> list[tuple[int, int, str, str, float]]:
    """(group index, window index, group name, window name, value) for each window with one."""
    name, figures = group
    found = []
    for window_index, (window, dutch) in enumerate(WINDOWS.items()):
        window_figures = getattr(figures, window)
        if window_figures is not None and window_figures.per_street_week is not None:
            group_index = 0 if name == "hub" else 1
            found.append((group_index, window_index, name, dutch, window_figures.per_street_week))
    return found


def _ceiling(value: float) -> float:
    """A round top for the y axis, at least 1."""
    if value <= 1:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1) / 2
    return float(ceil(value / step) * step)


def _y(value: float, top: float) -> float:
    return TOP + PLOT_H - value / top * PLOT_H


def _svg(title: str, body: Markup) -> Markup:
    return Markup(
        '<svg class="chart" role="img" aria-label="{t}" width="{w}" height="{h}"'
        ' viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif"'
        ' font-size="11"><title>{t}</title>{body}</svg>'
    ).format(t=title, w=WIDTH, h=HEIGHT, body=body)


def _bar(
    x: float,
    width: float,
    value: float,
    top: float,
    data: Markup,
    colour: str = HUB_COLOUR,
    label: str = "",
) -> Markup:
    y = _y(value, top)
    return Markup(
        '<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{c}" {data}>'
        "<title>{label}{v}</title></rect>"
    ).format(
        x=x, y=y, w=width, h=TOP + PLOT_H - y, c=colour, data=data, label=label, v=number(value)
    )


def _week_data(week: WeekPoint) -> Markup:
    return Markup('class="week" data-week="{d}" data-count="{n}"').format(
        d=week.model_dump(mode="json")["week_start"], n=week.hub
    )


def _comparison_line(weeks: tuple[WeekPoint, ...], slot: float, top: float) -> Markup:
    points = [
        (LEFT + (i + 0.5) * slot, _y(w.comparison_per_street or 0.0, top), w)
        for i, w in enumerate(weeks)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
    dots = Markup("").join(
        Markup(
            '<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{c}"'
            ' data-week="{d}" data-value="{v}"/>'
        ).format(
            x=x,
            y=y,
            c=OTHER_COLOUR,
            d=w.model_dump(mode="json")["week_start"],
            v=w.comparison_per_street,
        )
        for x, y, w in points
    )
    return Markup(
        '<polyline class="comparison" fill="none" stroke="{c}" stroke-width="2" points="{p}"/>{d}'
    ).format(c=OTHER_COLOUR, p=line, d=dots)


def _y_axis(top: float, label: str) -> Markup:
    ticks = Markup("").join(
        Markup(
            '<line x1="{l}" x2="{r}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            '<text x="{tx}" y="{ty:.1f}" text-anchor="end">{v}</text>'
        ).format(l=LEFT, r=LEFT + PLOT_W, y=_y(v, top), tx=LEFT - 6, ty=_y(v, top) + 4, v=number(v))
        for v in (0.0, top / 2, top)
    )
    return ticks + Markup(
        '<text class="axis-label" transform="translate(14 {y}) rotate(-90)"'
        ' text-anchor="middle">{label}</text>'
    ).format(y=TOP + PLOT_H / 2, label=label)


def _x_label(label: str) -> Markup:
    return Markup(
        '<text class="axis-label" x="{x}" y="{y}" text-anchor="middle">{t}</text>'
    ).format(x=LEFT + PLOT_W / 2, y=HEIGHT - 6, t=label)


def _tick(x: float, label: str) -> Markup:
    return Markup('<text x="{x:.1f}" y="{y}" text-anchor="middle">{t}</text>').format(
        x=x, y=TOP + PLOT_H + 16, t=label
    )


def _marker(x: float, label: str) -> Markup:
    return Markup(
        '<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{t}" y2="{b}" stroke="{c}"'
        ' stroke-dasharray="4 3"/><text x="{x:.1f}" y="{ty}" text-anchor="middle">{label}</text>'
    ).format(x=x, t=TOP, b=TOP + PLOT_H, c=MARK_COLOUR, ty=TOP - 6, label=label)


def _legend(hub: str, other: str) -> Markup:
    return Markup(
        '<rect x="{x}" y="6" width="10" height="10" fill="{hc}"/>'
        '<text x="{tx}" y="15">{hub}</text>'
        '<rect x="{x2}" y="6" width="10" height="10" fill="{oc}"/>'
        '<text x="{tx2}" y="15">{other}</text>'
    ).format(
        x=WIDTH - 400,
        tx=WIDTH - 386,
        hub=hub,
        hc=HUB_COLOUR,
        x2=WIDTH - 200,
        tx2=WIDTH - 186,
        other=other,
        oc=OTHER_COLOUR,
    )
