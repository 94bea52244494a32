"""Households' streets and cities: sealed under BUDGET_VAULT_KEY, opened only for the letters."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_budget_households import budget_conn, cli
from wijkbus.vault import new_master_key

REGISTER = """\
address_id,postcode,house_number,buurt_code,street,city,buurt_name
0014200000000001,9751AB,1,BU00140107,Kerkstraat,Haren,Haren-Centrum
0014200000000002,9751AB,3,BU00140107,Kerkstraat,Haren,Haren-Centrum
0014200000000003,9751AC,5,BU00140107,Molenweg,Haren,Haren-Centrum
"""
WITHOUT_ADDRESSES = """\
address_id,postcode,house_number,buurt_code
0014200000000001,9751AB,1,BU00140107
0014200000000002,9751AB,4,BU00140107
"""


async def stored(url: str) -> tuple[str, list[tuple[str, bool]]]:
    """All of the households table as text, and per address id whether an address is sealed."""
    conn = await budget_conn(url)
    try:
        dump = await conn.fetchval("SELECT string_agg(t::text, ' ') FROM households t")
        rows = await conn.fetch(
            "SELECT address_id, address_key IS NOT NULL AND address_sealed IS NOT NULL AS sealed"
            " FROM households ORDER BY address_id"
        )
    finally:
        await conn.close()
    return dump, [(r["address_id"][-1], r["sealed"]) for r in rows]


async def import_(csv: Path, url: str, key: str | None, exit_code: int = 0) -> str:
    env = {"BUDGET_VAULT_KEY": key} if key else None
    return await cli(
        "import-households", str(csv), "--municipality", "Groningen", url=url,
        exit_code=exit_code, env=env,
    )  # fmt: skip


async def issue(url: str, out: Path, key: str | None, exit_code: int = 0) -> str:
    env = {"BUDGET_VAULT_KEY": key} if key else None
    return await cli(
        "issue-codes", "--year", "2027", "--buurt", "BU00140107", "--out", str(out),
        "--municipality", "Groningen", url=url, exit_code=exit_code, env=env,
    )  # fmt: skip


async def test_streets_and_cities_are_stored_sealed_and_compared_on_reimport(
    fresh_database: str, tmp_path: Path
) -> None:
    csv, key = tmp_path / "register.csv", new_master_key()
    csv.write_text(REGISTER)
    assert "added 3" in await import_(csv, fresh_database, key)
    dump, sealed = await stored(fresh_database)
    assert "Kerkstraat" not in dump and "Molenweg" not in dump and "Haren" not in dump
    assert sealed == [("1", True), ("2", True), ("3", True)]

    assert "changed 0, removed 0, unchanged 3" in await import_(csv, fresh_database, key)
    csv.write_text(REGISTER.replace("5,BU00140107,Molenweg", "5,BU00140107,Molenstraat"))
    assert "changed 1, removed 0, unchanged 2" in await import_(csv, fresh_database, key)


async def test_a_register_with_addresses_is_refused_without_the_vault_key(
    fresh_database: str, tmp_path: Path
) -> None:
    csv = tmp_path / "register.csv"
    csv.write_text(REGISTER)
    refused = await import_(csv, fresh_database, None, exit_code=1)
    assert "set BUDGET_VAULT_KEY" in refused
    conn = await budget_conn(fresh_database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM households") == 0
    finally:
        await conn.close()


async def test_no_codes_are_issued_when_the_sealed_addresses_cannot_be_opened(
    fresh_database: str, tmp_path: Path
) -> None:
    csv, key = tmp_path / "register.csv", new_master_key()
    csv.write_text(REGISTER)
    await import_(csv, fresh_database, key)
    await cli("open-year", "--year", "2027", "--municipality", "Groningen", url=fresh_database)
    out = tmp_path / "brieven"
    assert "set BUDGET_VAULT_KEY" in await issue(fresh_database, out, None, exit_code=1)
    wrong = await issue(fresh_database, out, new_master_key(), exit_code=1)
    assert "not the key the addresses were sealed with" in wrong
    assert not out.exists()
    conn = await budget_conn(fresh_database)
    try:
        assert await conn.fetchval("SELECT count(*) FROM voting_codes") == 0
    finally:
        await conn.close()
    assert "3 letters written" in await issue(fresh_database, out, key)


async def test_a_register_without_addresses_keeps_those_that_still_fit_and_removal_shreds(
    fresh_database: str, tmp_path: Path
) -> None:
    csv, key = tmp_path / "register.csv", new_master_key()
    csv.write_text(REGISTER)
    await import_(csv, fresh_database, key)
    csv.write_text(WITHOUT_ADDRESSES)  # no. 3 is now no. 4: its street may be wrong; 5 left
    assert "added 0, changed 1, removed 1, unchanged 1" in await import_(csv, fresh_database, key)
    _, sealed = await stored(fresh_database)
    assert sealed == [("1", True), ("2", False), ("3", False)]

    await cli("open-year", "--year", "2027", "--municipality", "Groningen", url=fresh_database)
    out = tmp_path / "brieven"
    assert "2 letters written" in await issue(fresh_database, out, key)
    first, second = (p.read_text() for p in sorted(out.glob("brief-*.html")))
    assert "Kerkstraat 1<br>9751 AB  HAREN" in first
    assert "huisnummer 4<br>9751 AB" in second and "Kerkstraat" not in second
    assert "Haren-Centrum (BU00140107)" in first  # the name stays from the earlier register
