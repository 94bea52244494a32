"""Printable letters, one per household, with its voting code, a QR code that opens the resident
page with the code filled in, and one PDF of a buurt's letters for the printer."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from services.budget import letter_pdf
from services.budget.letter_page import LetterPage, compose
from services.budget.register import Letter

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "web" / "templates"), autoescape=True
)


@dataclass(frozen=True)
class Written:
    """The files one run wrote: an HTML letter per household and a PDF per buurt."""

    letters: list[Path]
    pdfs: list[Path]


def render(page: LetterPage) -> str:
    """The HTML of one household's letter, ready to print (the QR code inline, as a PNG)."""
    qr_src = "data:image/png;base64," + base64.b64encode(page.qr_png).decode()
    return _ENV.get_template("letter.html").render(page=page, qr_src=qr_src)


def write_all(
    letters: list[Letter],
    out: Path,
    *,
    municipality: str,
    year: int,
    allowance_cents: int,
    site_url: str,
    created: datetime | None = None,
) -> Written:
    """Write one HTML letter per household and one PDF per buurt into `out`.

    Files are named by year, buurt and number, never by address; numbered after the letters
    already there, so a second run never overwrites the first.
    """
    # Everything is made before anything is written: a letter that cannot be made leaves no files.
    first = len(list(out.glob("brief-*.html"))) + 1 if out.exists() else 1
    files: dict[Path, bytes] = {}
    by_buurt: dict[str, list[tuple[int, LetterPage]]] = {}
    for n, letter in enumerate(letters, start=first):
        page = compose(letter, municipality=municipality, year=year,
                       allowance_cents=allowance_cents, site_url=site_url)  # fmt: skip
        files[out / f"brief-{year}-{letter.buurt_code}-{n:05d}.html"] = render(page).encode()
        by_buurt.setdefault(letter.buurt_code, []).append((n, page))
    pdfs = []
    for buurt, pages in by_buurt.items():
        pdf = out / f"brieven-{year}-{buurt}-{pages[0][0]:05d}-{pages[-1][0]:05d}.pdf"
        files[pdf] = letter_pdf.render(
            [p for _, p in pages],
            title=f"Buurtbudget {year}: brieven {buurt}",
            created=created or datetime.now(UTC),
        )
        pdfs.append(pdf)
    out.mkdir(parents=True, exist_ok=True)
    for path, content in files.items():
        path.write_bytes(content)
    return Written([p for p in files if p.suffix == ".html"], pdfs)
