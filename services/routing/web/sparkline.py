"""Inline SVG sparklines: a street's incidents per day, drawn without any script."""

from __future__ import annotations

from markupsafe import Markup

WIDTH, HEIGHT = 180, 28


def sparkline(per_day: list[int], label: str) -> Markup:
    """An SVG polyline of daily counts, oldest first; `label` becomes its accessible title."""
    if not per_day:
        per_day = [0]
    top = max(max(per_day), 1)
    step = WIDTH / max(len(per_day) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{HEIGHT - 2 - (n / top) * (HEIGHT - 4):.1f}" for i, n in enumerate(per_day)
    )
    return Markup(
        '<svg class="sparkline" role="img" width="{w}" height="{h}" viewBox="0 0 {w} {h}"'
        ' xmlns="http://www.w3.org/2000/svg"><title>{label}</title>'
        '<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{points}"/>'
        "</svg>"
    ).format(w=WIDTH, h=HEIGHT, label=label, points=points)
