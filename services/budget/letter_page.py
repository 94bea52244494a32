"""What a household's letter says, once for both the HTML and the PDF: address, text, QR code."""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import urlencode

import segno

from services.budget.register import Letter


@dataclass(frozen=True)
class LetterPage:
    """One letter as it is printed; the QR code opens `link`, the resident page with the code."""

    municipality: str
    address_lines: tuple[str, ...]
    heading: str
    paragraphs: tuple[str, ...]
    code: str
    link: str
    qr_png: bytes
    after_code: tuple[str, ...]
    footnote: str


def qr_png(link: str) -> bytes:
    """The QR code of `link` as a PNG, 5 pixels a module with the standard quiet zone; error
    correction M or better, as paper gets creased."""
    out = io.BytesIO()
    segno.make(link, error="m", micro=False).save(out, kind="png", scale=5, border=4)
    return out.getvalue()


def resident_link(site_url: str, code: str) -> str:
    """The resident page's address with the code filled in (the only URL that carries one)."""
    return f"{site_url}{'&' if '?' in site_url else '?'}{urlencode({'code': code})}"


def address_lines(letter: Letter) -> tuple[str, ...]:
    """The address block as PostNL wants it: street and number, then "1234 AB  PLAATS"."""
    postcode = f"{letter.postcode[:4]} {letter.postcode[4:]}"
    if not letter.street:  # a register without addresses: number and postcode only
        return ("Aan de bewoners van", f"huisnummer {letter.house_number}", postcode)
    return (
        "Aan de bewoners van",
        f"{letter.street} {letter.house_number}",
        f"{postcode}  {letter.city.upper()}",
    )


def compose(
    letter: Letter, *, municipality: str, year: int, allowance_cents: int, site_url: str
) -> LetterPage:
    """The letter of one household, in Dutch."""
    euros = f"{allowance_cents // 100},{allowance_cents % 100:02d}"
    buurt = f"{letter.buurt_name} ({letter.buurt_code})" if letter.buurt_name else letter.buurt_code
    link = resident_link(site_url, letter.code)
    return LetterPage(
        municipality=municipality,
        address_lines=address_lines(letter),
        heading=f"Uw buurtbudget {year}",
        paragraphs=(
            f"Uw huishouden heeft dit jaar een buurtbudget van € {euros}. U beslist zelf aan "
            f"welk initiatief in uw buurt {buurt} u het geeft.",
            "Scan de QR-code met de camera van uw telefoon: de pagina opent met uw code al "
            f"ingevuld. Of ga naar {site_url} en vul deze code in:",
        ),
        code=letter.code,
        link=link,
        qr_png=qr_png(link),
        after_code=(
            "De code is één keer te gebruiken door uw huishouden. Bewaar deze brief goed en "
            "geef de code niet aan anderen.",
        ),
        footnote="Geen internet? Neem de brief mee naar het wijkcentrum; een medewerker helpt "
        "u graag.",
    )
