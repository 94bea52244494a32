"""Buurt names as people know them, from a CSV the municipality keeps (WIJKBUS_BUURTEN).

Any CSV with the columns `buurt_code` and `buurt_name` will do (the demo's household list is
one); a buurt without a known name is shown by its CBS code.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from markupsafe import Markup, escape

from wijkbus.web.buurten import names

NOTHING = "—"


def load_names(path: Path | None) -> dict[str, str]:
    """Each buurt code's name in the file at `path` (none without a file); a file that cannot
    be read, or lacks the columns, stops routing at start."""
    try:
        return names(path)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"routing refuses to start: cannot read buurten: {exc}") from exc


def buurt_name(names: Mapping[str, str], code: str | None) -> str:
    """'De Hoogte', or the code when no name is known."""
    if not code:
        return NOTHING
    return names.get(code, code)


def buurt_html(names: Mapping[str, str], code: str | None) -> Markup:
    """The buurt's name with its CBS code in a tooltip."""
    if not code:
        return escape(NOTHING)
    return Markup('<span class="buurt" title="{code}">{name}</span>').format(
        code=escape(code), name=buurt_name(names, code)
    )
