"""The wijkhub report's tables and sentences, shared by its HTML and its PDF.

Each cell names where its number is in the evaluation's JSON (`figure`, a dotted path), so a
test can hold the rendered report against the evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.wijkhubs import GroupFigures, WijkhubEvaluation, WindowFigures
from services.routing.wijkhub.dutch import WINDOWS, hours, number

CAUTION = "Dit is een aanwijzing, geen bewijs dat de wijkhub de oorzaak is."
COMPARISON = "de andere straten van de buurt"
RESPONSE_ROWS = (
    ("signals", "signalen", False),
    ("opgepakt", "opgepakt", False),
    ("opgepakt_median_hours", "opgepakt: mediaan", True),
    ("opgepakt_p90_hours", "opgepakt: 90e percentiel", True),
    ("afgehandeld", "afgehandeld", False),
    ("afgehandeld_median_hours", "afgehandeld: mediaan", True),
    ("afgehandeld_p90_hours", "afgehandeld: 90e percentiel", True),
)


@dataclass(frozen=True)
class Cell:
    """One number in a table, and where it is in the evaluation's JSON."""

    figure: str
    value: float | None
    text: str
    count: int | None = None


@dataclass(frozen=True)
class Table:
    """A titled table: a label and cells per row, under the columns' names."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]


def groups(evaluation: WijkhubEvaluation) -> list[tuple[str, str, GroupFigures]]:
    """(key, Dutch title, figures) of the hub's streets and, when there are, the others."""
    found = [("hub", f"Straten van de wijkhub ({_streets(evaluation.hub)})", evaluation.hub)]
    if evaluation.comparison is not None:
        title = f"Andere straten van de buurt ({_streets(evaluation.comparison)})"
        found.append(("comparison", title, evaluation.comparison))
    return found


def _streets(group: GroupFigures) -> str:
    return "1 straat" if group.streets == 1 else f"{group.streets} straten"


def incident_table(key: str, title: str, group: GroupFigures) -> Table:
    """Incidents before, during and after: in all, per week, per street and per categorie."""
    windows = [(w, getattr(group, w)) for w in WINDOWS]
    categories = sorted({c for _, f in windows if f for c in f.per_categorie})
    rows = [
        (label, tuple(_cell(f"{key}.{w}.{name}", f and getattr(f, name)) for w, f in windows))
        for name, label in (
            ("weeks", "weken"),
            ("incidents", "meldingen"),
            ("per_week", "per week"),
            ("per_street_week", "per straat per week"),
        )
    ]
    for categorie in categories:
        cells = tuple(_categorie_cell(f"{key}.{w}", f, categorie) for w, f in windows)
        rows.append((f"{categorie} per week", cells))
    return Table(f"{key}-incidents", title, tuple(WINDOWS.values()), tuple(rows))


def response_table(key: str, title: str, group: GroupFigures) -> Table:
    """How fast signals were taken on and finished, before and during the hub."""
    windows = (
        ("response_before", group.response_before),
        ("response_during", group.response_during),
    )
    rows = tuple(
        (
            label,
            tuple(
                _cell(f"{key}.{w}.{name}", getattr(times, name), in_hours) for w, times in windows
            ),
        )
        for name, label, in_hours in RESPONSE_ROWS
    )
    return Table(f"{key}-response", title, ("voor", "tijdens"), rows)


def _cell(figure: str, value: float | None, in_hours: bool = False) -> Cell:
    return Cell(figure, value, hours(value) if in_hours else number(value))


def _categorie_cell(figure: str, window: WindowFigures | None, categorie: str) -> Cell:
    if window is None:
        return _cell(f"{figure}.per_categorie.{categorie}", None)
    count = window.per_categorie.get(categorie, 0)
    per_week = round(count / window.weeks, 3) if window.weeks else 0.0
    return Cell(f"{figure}.per_categorie.{categorie}", per_week, number(per_week), count)


def difference_in_words(evaluation: WijkhubEvaluation) -> list[str]:
    """The difference in differences said in words, what it was compared with, and its limit."""
    hub, other = evaluation.hub, evaluation.comparison
    if other is None:
        return [
            f"Er zijn geen andere straten in de buurt om mee te vergelijken ({COMPARISON}"
            " ontbreken), dus er is geen verschil-in-verschillen.",
            CAUTION,
        ]
    said = [
        f"De vergelijkingsgroep is {COMPARISON} ({_streets(other)}).",
        f"Op de straten van de wijkhub ging het aantal meldingen per straat per week van"
        f" {_rate(hub.before)} voor naar {_rate(hub.during)} tijdens de wijkhub; op {COMPARISON}"
        f" van {_rate(other.before)} naar {_rate(other.during)}.",
    ]
    did = evaluation.difference_in_differences
    if did is None:
        said.append("Het verschil-in-verschillen is niet te berekenen.")
    elif did == 0:
        said.append(
            "Het verschil-in-verschillen is 0: de straten van de wijkhub veranderden even veel"
            f" als {COMPARISON}."
        )
    else:
        said.append(
            f"Het verschil-in-verschillen is {number(did)}: tijdens de wijkhub hadden de straten"
            f" van de wijkhub {number(abs(did))} meldingen per straat per week"
            f" {'minder' if did < 0 else 'meer'} dan te verwachten was als ze net zo veranderd"
            f" waren als {COMPARISON}."
        )
    return [*said, CAUTION]


def _rate(window: WindowFigures) -> str:
    return number(window.per_street_week)
