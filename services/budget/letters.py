"""Printable letters, one per household, with its voting code and the resident page's address."""

from __future__ import annotations

from pathlib import Path

import jinja2

from services.budget.register import Letter

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "web" / "templates"), autoescape=True
)


def render(
    letter: Letter, *, municipality: str, year: int, allowance_cents: int, site_url: str
) -> str:
    """The HTML of one household's letter, ready to print."""
    euros = f"{allowance_cents // 100},{allowance_cents % 100:02d}"
    return _ENV.get_template("letter.html").render(
        letter=letter, municipality=municipality, year=year, euros=euros, site_url=site_url
    )


def write_all(letters: list[Letter], out: Path, **context: object) -> list[Path]:
    """Write one letter file per household into `out` (named by number, never by address)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    # Numbered after the letters already there, so a second run never overwrites the first.
    first = len(list(out.glob("brief-*.html"))) + 1
    for n, letter in enumerate(letters, start=first):
        path = out / f"brief-{context['year']}-{letter.buurt_code}-{n:05d}.html"
        path.write_text(render(letter, **context), encoding="utf-8")  # type: ignore[arg-type]
        paths.append(path)
    return paths
