"""Routing's charts are SVG drawn on the server, each with a title, a description and its
numbers as a table; buurten are named from a CSV, by code where no name is known."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.routing.chart_data import week_starts
from services.routing.web import buurten, charts
from services.routing.web.dashboard_charts import largest


def test_stacked_bars_draw_one_bar_per_nonzero_count_with_title_and_table() -> None:
    series = {"overlast": [2, 0, 1], "vernieling": [0, 3, 0]}
    chart = charts.stacked_bars("c", "Meldingen <per> week", ["2 nov", "9 nov", "16 nov"], series)
    assert chart.svg.count('class="bar"') == 3
    assert '<title id="c-t">Meldingen &lt;per&gt; week</title>' in chart.svg
    assert "6 in totaal; overlast 3; vernieling 3" in chart.svg
    assert chart.heads == ["Week", "overlast", "vernieling", "Totaal"]
    assert chart.rows == [
        ["2 nov", "2", "0", "2"],
        ["9 nov", "0", "3", "3"],
        ["16 nov", "1", "0", "1"],
    ]


def test_paired_bars_show_open_and_late_per_partner() -> None:
    chart = charts.paired_bars("p", "Open en te laat", [("politie", 4, 1), ("wij", 0, 0)])
    assert "politie: 4 open, 1 te laat; wij: 0 open, 0 te laat" in chart.svg
    assert chart.rows == [["politie", "4", "1"], ["wij", "0", "0"]]
    long = charts.paired_bars("q", "t", [("Politie Noord-Nederland, basisteam Groningen", 1, 0)])
    assert ">Politie Noord-Nederland…</text>" in long.svg
    assert "<title>Politie Noord-Nederland, basisteam Groningen: 1</title>" in long.svg


def test_a_percent_line_leaves_weeks_without_judged_assignments_out() -> None:
    chart = charts.percent_line("s", "Op tijd", ["a", "b", "c"], [50.0, None, 100.0], [2, 0, 1])
    assert chart.svg.count('class="punt"') == 2
    assert "a: 50%; c: 100%" in chart.svg
    assert chart.rows[1] == ["b", "—", "0"]


def test_weeks_begin_on_monday_in_amsterdam() -> None:
    zone = ZoneInfo("Europe/Amsterdam")
    sunday_night = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # Monday 00:30 in Amsterdam
    starts = week_starts(sunday_night, zone, weeks=2)
    assert starts == [date(2026, 11, 16), date(2026, 11, 23)]
    assert charts.week_label(starts[-1]) == "23 nov"


def test_buurten_are_named_from_a_csv_and_by_code_where_unknown(tmp_path: Path) -> None:
    path = tmp_path / "buurten.csv"
    path.write_text("buurt_code,street,buurt_name\nBU00140107,Javastraat,De Hoogte\n")
    names = buurten.load_names(path)
    assert names == {"BU00140107": "De Hoogte"}
    assert buurten.buurt_html(names, "BU00140107") == (
        '<span class="buurt" title="BU00140107">De Hoogte</span>'
    )
    assert buurten.buurt_name(names, "BU00149999") == "BU00149999"
    assert buurten.buurt_name(names, None) == "—"
    assert buurten.load_names(None) == {}
    (tmp_path / "wrong.csv").write_text("code,naam\nBU00140107,De Hoogte\n")
    with pytest.raises(SystemExit, match="buurt_code, buurt_name"):
        buurten.load_names(tmp_path / "wrong.csv")


def test_only_the_busiest_buurten_are_drawn_by_name_the_rest_together() -> None:
    series = {f"buurt {n}": [n, 1] for n in range(1, 10)}
    kept = largest(series, shown=3)
    assert list(kept) == ["buurt 9", "buurt 8", "buurt 7", "overige buurten"]
    assert kept["overige buurten"] == [21, 6]
    assert largest({"a": [1]}, shown=3) == {"a": [1]}
