"""The kit's operator-page helpers: SVG charts with a text alternative, times in Amsterdam."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

from wijkbus.web import buurten, charts, dutch_reasons, dutch_time

SVG = "{http://www.w3.org/2000/svg}"


def _svg(markup: str) -> ElementTree.Element:
    found = re.search(r"<svg.*</svg>", markup, re.S)
    assert found, "no svg in the chart"
    return ElementTree.fromstring(found.group(0))  # noqa: S314 - our own markup


def test_bar_chart_draws_one_bar_per_label_with_title_desc_and_table() -> None:
    html = str(
        charts.bar_chart(
            [("Oosterpoort", 12), ("Schilderswijk", 3)], title="Stemmen", desc="Per buurt"
        )
    )
    svg = _svg(html)
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Stemmen"
    assert svg.find(f"{SVG}desc").text == "Per buurt"
    widths = [float(r.get("width")) for r in svg.iter(f"{SVG}rect")]
    assert len(widths) == 2 and widths[0] == 4 * widths[1]
    assert "<table>" in html and '<td class="num">12</td>' in html


def test_stacked_bars_split_each_bar_by_series_and_name_them_in_a_legend() -> None:
    html = str(
        charts.stacked_bars(
            [("wijkteam", (8, 2)), ("politie", (1, 0))],
            series=("geleverd", "mislukt"),
            title="Afleveringen",
            desc="Per abonnement",
        )
    )
    svg = _svg(html)
    bars = [r for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert len(bars) == 4 + 2  # two parts per bar, plus two legend swatches
    assert "geleverd" in html and "mislukt" in html and "<th scope='row'>wijkteam</th>" in html


def test_line_chart_draws_one_polyline_per_series_over_the_points() -> None:
    html = str(
        charts.line_chart(
            ["1 dec", "2 dec", "3 dec"],
            {"geaccepteerd": [1, 4, 2], "geweigerd": [0, 1, 0]},
            title="Per dag",
            desc="Meldingen",
        )
    )
    lines = [p for p in _svg(html).iter(f"{SVG}polyline")]
    assert [len(p.get("points").split()) for p in lines] == [3, 3]


def test_chart_labels_are_escaped() -> None:
    html = str(charts.bar_chart([("<script>", 1)], title="a&b", desc="d"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    _svg(html)


def test_moments_are_in_amsterdam_with_the_zone_shown() -> None:
    winter = datetime(2026, 12, 1, 8, 21, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 8, 21, tzinfo=UTC)
    assert dutch_time.moment(winter) == "1 dec 2026 09:21 CET"
    assert dutch_time.moment(summer.isoformat()) == "1 jul 2026 10:21 CEST"
    assert dutch_time.clock(winter) == "09:21:00 CET"
    assert dutch_time.moment(None) == "–"


def test_durations_money_and_shares_read_as_people_write_them() -> None:
    assert dutch_time.duration(timedelta(hours=24)) == "24 uur"
    assert dutch_time.duration(timedelta(hours=78)) == "3 dagen 6 uur"
    assert dutch_time.duration(48.0) == "2 dagen"
    assert dutch_time.duration(timedelta(hours=5)) == "5 uur"
    assert dutch_time.duration(timedelta(minutes=45)) == "45 minuten"
    assert dutch_time.euros(123450) == "€ 1.234,50"
    assert dutch_time.euros(-5) == "-€ 0,05"
    assert dutch_time.percent(3, 8) == "37,5%"
    assert dutch_time.percent(1, 0) == "–"


def test_buurt_names_come_from_a_csv_and_the_code_stays_beside_them(tmp_path: Path) -> None:
    path = tmp_path / "buurten.csv"
    path.write_text("buurt_code,buurt_name,extra\nBU00140107,De Hoogte,x\nBU00140110,,y\n")
    known = buurten.names(path)
    assert known == {"BU00140107": "De Hoogte"}
    assert buurten.label("BU00140107", known) == "De Hoogte (BU00140107)"
    assert buurten.label("BU00140110", known) == "BU00140110"
    assert buurten.label("BU00140110", known, "Korrewegwijk") == "Korrewegwijk (BU00140110)"
    assert buurten.label(None, known) == "–"
    assert buurten.names(None) == {}


def test_refusals_and_dead_letters_read_in_dutch() -> None:
    assert dutch_reasons.status("forbidden") == "niet toegestaan"
    assert (
        dutch_reasons.refusal("type: partner p may not send category ondermijning")
        == "veld type: deze partner mag geen ondermijning melden"
    )
    assert dutch_reasons.refusal("data.location.city: Field required") == (
        "veld data.location.city: verplicht veld ontbreekt"
    )
    assert dutch_reasons.refusal(": event is larger than 65536 bytes") == (
        "het event is groter dan 65536 bytes"
    )
    assert dutch_reasons.refusal("type: type is not known; use nl.wijkaanpak.signaal.*") == (
        "veld type: dit type event kennen we niet"
    )
    assert dutch_reasons.refusal("type: type 'x' is not known; use …") == (
        "veld type: dit type event kennen we niet"
    )
    assert dutch_reasons.refusal("something nobody foresaw") == "ongeldige invoer"
    assert dutch_reasons.dead_letter("invalid: data.street: Field required; data.city: x") == (
        "bericht voldoet niet aan het contract (data.street, data.city)"
    )
    assert dutch_reasons.dead_letter("KeyError: 'x'") == "verwerking mislukte steeds opnieuw"
