"""The household register, years and voting codes, through `wijkbus budget` on a real database."""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path

import asyncpg
from typer.testing import CliRunner

from services.budget.cli import app
from services.budget.codes import normalise

REGISTER = """\
address_id,postcode,house_number,buurt_code
0014200000000001,9714 ab,1,BU00140107
0014200000000002,9714AB,3,BU00140107
0014200000000003,9714AB,5a,BU00140107
0014200000000004,9715CD,2,BU00140108
"""


async def budget_conn(url: str) -> asyncpg.Connection:
    conn: asyncpg.Connection = await asyncpg.connect(url, server_settings={"search_path": "budget"})
    return conn


async def cli(*args: str, url: str, exit_code: int = 0, env: dict[str, str] | None = None) -> str:
    """Run `wijkbus budget ...` (in a thread: the command runs its own event loop)."""
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        list(args),
        env={"DATABASE_URL": url, "COLUMNS": "200", "BUDGET_VAULT_KEY": None, **(env or {})},
    )
    assert result.exit_code == exit_code, result.output
    return result.output


async def test_a_reimport_is_idempotent_and_reports_added_changed_and_removed(
    fresh_database: str, tmp_path: Path
) -> None:
    csv = tmp_path / "register.csv"
    csv.write_text(REGISTER)
    first = await cli(
        "import-households", str(csv), "--municipality", "Groningen", url=fresh_database
    )
    again = await cli(
        "import-households", str(csv), "--municipality", "Groningen", url=fresh_database
    )
    assert "added 4, changed 0, removed 0, unchanged 0" in first
    assert "added 0, changed 0, removed 0, unchanged 4" in again

    moved = REGISTER.replace("9715CD,2,BU00140108", "9715CD,2,BU00140107")
    moved = moved.replace("0014200000000003,9714AB,5a,BU00140107\n", "")
    moved += "0014200000000005,9715CD,4,BU00140108\n"
    csv.write_text(moved)
    changed = await cli(
        "import-households", str(csv), "--municipality", "Groningen", url=fresh_database
    )
    assert "added 1, changed 1, removed 1, unchanged 2" in changed

    conn = await budget_conn(fresh_database)
    try:
        rows = await conn.fetch(
            "SELECT address_id, postcode, buurt_code, removed_at IS NOT NULL AS removed"
            " FROM households ORDER BY address_id"
        )
    finally:
        await conn.close()
    assert [(r["address_id"][-1], r["postcode"], r["buurt_code"], r["removed"]) for r in rows] == [
        ("1", "9714AB", "BU00140107", False),
        ("2", "9714AB", "BU00140107", False),
        ("3", "9714AB", "BU00140107", True),
        ("4", "9715CD", "BU00140107", False),
        ("5", "9715CD", "BU00140108", False),
    ]


async def test_an_invalid_register_is_refused_whole_with_every_bad_line(
    fresh_database: str, tmp_path: Path
) -> None:
    csv = tmp_path / "register.csv"
    csv.write_text(REGISTER)
    await cli("import-households", str(csv), "--municipality", "Groningen", url=fresh_database)
    csv.write_text(REGISTER.replace(",3,", ",7,") + "0014200000000001,0000XX,,BU1\n")
    output = await cli(
        "import-households", str(csv), "--municipality", "Groningen", url=fresh_database,
        exit_code=1,
    )  # fmt: skip
    assert "line 6" in output
    assert "postcode" in output and "house_number is empty" in output
    assert "appears twice" in output
    conn = await budget_conn(fresh_database)
    try:
        numbers = await conn.fetch("SELECT house_number FROM households ORDER BY address_id")
        assert [r["house_number"] for r in numbers] == ["1", "3", "5a", "2"]
    finally:
        await conn.close()


async def test_codes_are_issued_once_per_household_stored_as_hashes_with_a_letter_each(
    fresh_database: str, tmp_path: Path
) -> None:
    csv = tmp_path / "register.csv"
    csv.write_text(REGISTER)
    url = fresh_database
    await cli("import-households", str(csv), "--municipality", "Groningen", url=url)
    opened = await cli("open-year", "--year", "2027", "--municipality", "Groningen", url=url)
    assert "Groningen 2027 open: 1000 cents per household, rule pledge" in opened
    await cli("open-year", "--year", "2027", "--municipality", "Groningen", url=url, exit_code=1)

    out = tmp_path / "brieven"
    args = ["issue-codes", "--year", "2027", "--buurt", "BU00140107", "--out", str(out)]
    issued = await cli(*args, "--municipality", "Groningen", url=url)
    again = await cli(*args, "--municipality", "Groningen", url=url)
    assert "3 letters written" in issued
    assert "0 letters written" in again and "3 households already had a code" in again

    letters = sorted(out.glob("*.html"))
    assert len(letters) == 3
    texts = [p.read_text() for p in letters]
    found = [re.search(r'<p class="code">([0-9A-Z-]+)</p>', t) for t in texts]
    printed = [m.group(1) for m in found if m]
    assert len(set(printed)) == 3
    assert all(len(normalise(c)) == 26 for c in printed)
    assert 'lang="nl"' in texts[0] and "Uw buurtbudget 2027" in texts[0]
    assert "https://buurtbudget.example.nl/buurt" in texts[0]
    assert "huisnummer 1<br>9714 AB" in texts[0]  # a register without streets, as before
    for code in printed:  # never on screen
        assert code not in issued

    conn = await budget_conn(url)
    try:
        stored = {
            bytes(r["code_hash"]) for r in await conn.fetch("SELECT code_hash FROM voting_codes")
        }
        dump = await conn.fetchval("SELECT string_agg(t::text, ' ') FROM voting_codes t")
    finally:
        await conn.close()
    assert stored == {hashlib.sha256(normalise(c).encode()).digest() for c in printed}
    assert not any(normalise(c) in dump or c in dump for c in printed)
