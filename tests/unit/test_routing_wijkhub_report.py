"""The wijkhub report: its numbers are the evaluation's, it says what they do not prove, and it
shows nothing of the hub beyond the known facts (a canary checks every format)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts.wijkhubs import WijkhubEvaluation
from services.routing.wijkhub import report
from services.routing.wijkhub.dutch import number
from services.routing.wijkhub.evaluation import HubPeriod, Incident, evaluate
from services.routing.wijkhub.facts import HUB_KEYS
from services.routing.wijkhub.pdf import latin1

ZONE = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 11, 30, 23, tzinfo=UTC)  # 1 December, midnight in Amsterdam
END = START + timedelta(weeks=2)
HUB_ID = "hub-" + "c" * 32
CANARY = "CANARY-7f3a9e"


def incident(day: float, categorie: str = "overlast", ack_hours: float = 2.0) -> Incident:
    observed = START + timedelta(days=day)
    return Incident(
        "bag:1", categorie, observed, observed, observed + timedelta(hours=ack_hours), None
    )


def evaluation(comparison_streets: int = 3) -> WijkhubEvaluation:
    hub = [incident(d) for d in (-13, -9, -6, -2, -1)] + [incident(4, "afval"), incident(15)]
    comparison = [incident(d, "verkeer") for d in (-12, -3, 2, 5, 9, 16)]
    period = HubPeriod(HUB_ID, 1, START, END)
    return evaluate(period, hub, comparison, comparison_streets, as_of=START + timedelta(days=21))


def hub(**extra: Any) -> dict[str, Any]:
    return {
        "hub_id": HUB_ID,
        "address": "Asingastraat 43",
        "streets": ["Asingastraat, Groningen"],
        "city": "Groningen",
        "buurt_code": "BU00140107",
        "starts_at": START,
        "ends_at": END,
        "status": "gesloten",
        "partners": ["politie-groningen", "woonstad"],
        "aims": "Contact met bewoners – minder overlast…",
        "contact_role": "wijkagent",
        "outcome_note": "Rustiger, € 0 extra.",
        **extra,
    }


class Elements(HTMLParser):
    """Every element's tag and attributes, in document order."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))

    def having(self, attribute: str) -> list[dict[str, str]]:
        return [attrs for _, attrs in self.found if attribute in attrs]


def figure(document: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of the evaluation's JSON; None where the path ends early."""
    found: Any = document
    for part in path.split("."):
        found = found.get(part) if isinstance(found, dict) else None
    return found


def test_every_figure_in_the_page_is_the_evaluations() -> None:
    result = evaluation()
    fragment = str(report.render_fragment(hub(), result, ZONE))
    cells = Elements(fragment).having("data-figure")
    document = result.model_dump(mode="json")
    assert len(cells) > 40
    for cell in cells:
        if ".per_categorie." in cell["data-figure"]:
            assert int(cell["data-count"]) == (figure(document, cell["data-figure"]) or 0)
        else:
            expected = figure(document, cell["data-figure"])
            assert cell["data-value"] == ("" if expected is None else str(expected)), cell
    assert result.hub.before.per_week == 2.5
    assert 'data-figure="hub.before.per_week" data-value="2.5">2,5</td>' in fragment
    did = result.difference_in_differences
    assert did is not None and did < 0
    assert f'data-value="{did}">{number(did)}</strong>' in fragment


def test_the_page_says_it_is_an_indication_and_what_it_compares_with() -> None:
    fragment = str(report.render_fragment(hub(), evaluation(), ZONE))
    assert "Dit is een aanwijzing, geen bewijs dat de wijkhub de oorzaak is." in fragment
    assert "de andere straten van de buurt (3 straten)" in fragment
    assert "minder dan te verwachten was" in fragment
    assert "1 december 2026 00:00 tot 15 december 2026 00:00 (Europe/Amsterdam)" in fragment
    assert "Asingastraat, Groningen" in fragment and "BU00140107" in fragment


def test_the_charts_carry_the_weekly_numbers_and_the_windows() -> None:
    result = evaluation()
    elements = Elements(str(report.render_fragment(hub(), result, ZONE)))
    svgs = [attrs for tag, attrs in elements.found if tag == "svg"]
    assert len(svgs) == 2 and all(s["role"] == "img" and s["aria-label"] for s in svgs)
    bars = [a for a in elements.having("data-count") if a.get("class") == "week"]
    weekly = result.model_dump(mode="json")["weekly"]
    assert [(b["data-week"], int(b["data-count"])) for b in bars] == [
        (w["week_start"], w["hub"]) for w in weekly
    ]
    windows = {
        (a["data-window"], a["data-group"]): a["data-value"] for a in elements.having("data-window")
    }
    assert windows[("voor", "hub")] == str(result.hub.before.per_street_week)
    assert result.comparison is not None and result.comparison.after is not None
    assert windows[("na", "vergelijking")] == str(result.comparison.after.per_street_week)
    assert len(windows) == 6


def test_without_other_streets_the_page_says_there_is_nothing_to_compare() -> None:
    result = evaluation(comparison_streets=0)
    fragment = str(report.render_fragment(hub(), result, ZONE))
    assert "geen andere straten in de buurt om mee te vergelijken" in fragment
    assert "aanwijzing, geen bewijs" in fragment
    assert 'data-group="vergelijking"' not in fragment
    assert "comparison-incidents" not in fragment


def test_the_hubs_text_is_escaped() -> None:
    fragment = str(
        report.render_fragment(hub(aims="<script>alert(1)</script>"), evaluation(), ZONE)
    )
    assert "<script>" not in fragment and "&lt;script&gt;" in fragment


def test_the_document_is_a_standalone_dutch_page_without_script_or_external_files() -> None:
    page = report.render_document(hub(), evaluation(), ZONE)
    assert page.startswith("<!doctype html>")
    assert '<html lang="nl">' in page and '<meta charset="utf-8">' in page
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "https://" not in page and "<style>" in page


def test_the_json_holds_the_known_hub_facts_and_the_whole_evaluation() -> None:
    result = evaluation()
    document = json.loads(report.render_json(hub(), result))
    assert tuple(document["hub"]) == HUB_KEYS
    assert document["hub"]["starts_at"] == START.isoformat()
    assert WijkhubEvaluation.model_validate(document["evaluation"]) == result


def test_the_pdf_holds_the_address_and_the_key_figures() -> None:
    result = evaluation()
    pdf = report.render_pdf(hub(), result, ZONE, compress=False)
    assert pdf.startswith(b"%PDF")
    assert b"Asingastraat 43" in pdf
    assert number(result.hub.before.per_week).encode() in pdf
    assert b"Dit is een aanwijzing, geen bewijs dat de wijkhub de oorzaak is." in pdf
    assert b"Contact met bewoners - minder overlast..." in pdf and b"EUR 0 extra" in pdf
    assert report.render_pdf(hub(), result, ZONE).startswith(b"%PDF")
    assert report.render_pdf(hub(), result, ZONE) == report.render_pdf(hub(), result, ZONE)


def test_core_fonts_get_latin1_with_ascii_for_the_rest() -> None:
    assert latin1("Oosterstraat – Noord € 5… café “x”") == 'Oosterstraat - Noord EUR 5... café "x"'
    assert latin1("Łódź") == "?ód?"


@pytest.mark.parametrize("key", ["contact_name", "contact_phone", "contact_email"])
def test_the_contact_person_is_in_no_format(key: str) -> None:
    sealed = hub(**{key: CANARY})
    result = evaluation()
    assert CANARY not in str(report.render_fragment(sealed, result, ZONE))
    assert CANARY not in report.render_document(sealed, result, ZONE)
    assert CANARY not in report.render_json(sealed, result)
    assert CANARY.encode() not in report.render_pdf(sealed, result, ZONE, compress=False)


def test_a_hub_seen_before_its_baseline_has_an_empty_chart() -> None:
    period = HubPeriod(HUB_ID, 1, START, END)
    early = evaluate(period, [], [], 0, as_of=START - timedelta(weeks=3))
    fragment = str(report.render_fragment(hub(status="lopend"), early, ZONE))
    assert "geen weken" in fragment and "nog niet" in fragment
    assert report.render_pdf(hub(status="lopend"), early, ZONE).startswith(b"%PDF")


@pytest.mark.parametrize(
    ("value", "text"), [(2.0, "2"), (0.5, "0,5"), (-1.25, "-1,25"), (-0.0, "0"), (None, "–")]
)
def test_numbers_are_written_the_dutch_way(value: float | None, text: str) -> None:
    assert number(value) == text
