"""Letters a municipality can post: address, buurt name, a QR code that opens the resident page
with the code filled in, and one A4 PDF of the buurt's letters — from `wijkbus budget`."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from services.budget.app import BudgetSettings, build
from tests.integration.test_budget_households import budget_conn, cli
from tests.support import running_app
from wijkbus.vault import new_master_key

REGISTER = """\
address_id,postcode,house_number,buurt_code,street,city,buurt_name
0014200000000001,9712 gh,12a,BU00140107,Oude Boteringestraat,Groningen,De Hoogte
0014200000000002,9712GH,2,BU00140107,Oude Boteringestraat,Groningen,De Hoogte
0014200000000003,9714AB,7,BU00140107,Floresstraat,Groningen,De Hoogte
0014200000000004,9715CD,2,BU00140108,Kerklaan,Groningen,Oosterpark
"""
# In a postman's order: by postcode, then house number as a number (2 before 12a).
ADDRESSES = [
    ("Oude Boteringestraat 2", "9712 GH  GRONINGEN"),
    ("Oude Boteringestraat 12a", "9712 GH  GRONINGEN"),
    ("Floresstraat 7", "9714 AB  GRONINGEN"),
]


def decode_qr(image: Image.Image) -> str:
    """The text of the one QR code in an image, read by zxing-cpp (not by the code that drew it)."""
    found = zxingcpp.read_barcodes(image.convert("L"))
    assert [f.format for f in found] == [zxingcpp.BarcodeFormat.QRCode], found
    return str(found[0].text)


async def issue_letters(url: str, tmp_path: Path, site: str) -> tuple[str, Path]:
    """Import the addressed register, open 2027 and issue the buurt's codes; (output, folder)."""
    csv = tmp_path / "register.csv"
    csv.write_text(REGISTER)
    env = {"BUDGET_VAULT_KEY": new_master_key()}
    await cli("import-households", str(csv), "--municipality", "Groningen", url=url, env=env)
    await cli("open-year", "--year", "2027", "--municipality", "Groningen", url=url)
    out = tmp_path / "brieven"
    issued = await cli(
        "issue-codes", "--year", "2027", "--buurt", "BU00140107", "--out", str(out),
        "--municipality", "Groningen", "--site-url", site, url=url, env=env,
    )  # fmt: skip
    return issued, out


async def test_each_letter_has_the_address_the_buurt_s_name_and_a_qr_code_of_its_own_link(
    fresh_database: str, tmp_path: Path
) -> None:
    site = "https://buurtbudget.groningen.nl/buurt"
    issued, out = await issue_letters(fresh_database, tmp_path, site)
    assert "3 letters written" in issued

    texts = [p.read_text() for p in sorted(out.glob("brief-*.html"))]
    assert len(texts) == 3
    for text, (street_line, town_line) in zip(texts, ADDRESSES, strict=True):
        assert f"Aan de bewoners van<br>{street_line}<br>{town_line}</p>" in text
        assert "in uw buurt De Hoogte (BU00140107)" in text
        code = re.search(r'<p class="code">([0-9A-Z-]+)</p>', text)
        png = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
        assert code and png
        qr = decode_qr(Image.open(io.BytesIO(base64.b64decode(png.group(1)))))
        assert qr == f"{site}?code={code.group(1)}"
        assert code.group(1) not in issued  # the codes are on paper only


async def test_the_buurt_s_letters_are_one_pdf_of_a4_pages_one_letter_a_page(
    fresh_database: str, tmp_path: Path
) -> None:
    site = "https://buurtbudget.groningen.nl/buurt"
    issued, out = await issue_letters(fresh_database, tmp_path, site)
    pdfs = sorted(out.glob("*.pdf"))
    assert [p.name for p in pdfs] == ["brieven-2027-BU00140107-00001-00003.pdf"]
    assert pdfs[0].name in issued

    codes = [
        m.group(1)
        for p in sorted(out.glob("brief-*.html"))
        if (m := re.search(r'<p class="code">([0-9A-Z-]+)</p>', p.read_text()))
    ]
    reader = PdfReader(pdfs[0])
    assert len(reader.pages) == 3
    for page, code, (street_line, town_line) in zip(reader.pages, codes, ADDRESSES, strict=True):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842)  # A4 in points
        text = page.extract_text()
        assert street_line in text and town_line in text
        assert "De Hoogte (BU00140107)" in text and code in text
        assert "€ 10,00" in text and "één keer" in text
        [image] = page.images
        assert decode_qr(image.image) == f"{site}?code={code}"


async def test_the_qr_link_opens_the_resident_page_with_the_code_filled_in_and_logs_no_code(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path, capfd: object
) -> None:
    settings = BudgetSettings(database_url=fresh_database, kafka_bootstrap_servers=kafka_bootstrap)
    async with running_app(build(settings)) as url, httpx.AsyncClient() as http:
        _, out = await issue_letters(fresh_database, tmp_path, f"{url}/buurt")
        letter = sorted(out.glob("brief-*.html"))[0].read_text()
        png = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', letter)
        assert png
        link = decode_qr(Image.open(io.BytesIO(base64.b64decode(png.group(1)))))
        code = link.split("code=", 1)[1]
        assert urlsplit(link).path == "/buurt"

        opened = await http.get(link)
        assert opened.status_code == 200
        assert f'value="{code}"' in opened.text
        assert "Uw code uit de brief is al ingevuld" in opened.text
        assert opened.headers["Referrer-Policy"] == "no-referrer"
        assert opened.headers["Cache-Control"] == "no-store"

        # What the form then sends is the code the resident would type: it opens their buurt.
        page = await http.post(f"{url}/buurt", data={"code": code})
        assert page.status_code == 200 and "BU00140107" in page.text

        not_a_code = await http.get(f"{url}/buurt", params={"code": '"><script>x</script>'})
        assert not_a_code.status_code == 200 and "<script>x" not in not_a_code.text
        assert "al ingevuld" not in not_a_code.text
    logged = capfd.readouterr()  # type: ignore[attr-defined]
    assert code not in logged.out + logged.err


async def test_no_code_is_stored_when_the_letters_cannot_be_made(
    fresh_database: str, tmp_path: Path
) -> None:
    site = "https://buurtbudget.groningen.nl/buurt"
    endless = REGISTER.replace(",De Hoogte\n", f",{'De Hoogte ' * 400}\n")
    csv = tmp_path / "register.csv"
    csv.write_text(endless)
    env = {"BUDGET_VAULT_KEY": new_master_key()}
    url = fresh_database
    await cli("import-households", str(csv), "--municipality", "Groningen", url=url, env=env)
    await cli("open-year", "--year", "2027", "--municipality", "Groningen", url=url)
    out = tmp_path / "brieven"
    args = ["issue-codes", "--year", "2027", "--buurt", "BU00140107", "--out", str(out)]
    refused = await cli(
        *args, "--municipality", "Groningen", "--site-url", site, url=url, env=env, exit_code=1
    )
    assert "does not fit on one A4 page" in refused
    assert not out.exists()
    conn = await budget_conn(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM voting_codes") == 0
    finally:
        await conn.close()

    csv.write_text(REGISTER)  # the buurt's name corrected: now the letters can be made
    await cli("import-households", str(csv), "--municipality", "Groningen", url=url, env=env)
    issued = await cli(*args, "--municipality", "Groningen", "--site-url", site, url=url, env=env)
    assert "3 letters written" in issued
