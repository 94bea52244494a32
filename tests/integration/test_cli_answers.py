"""The CLI answers like real software: names and euros, no silent overwrite, confirmed erasure."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import asyncpg
from typer.testing import CliRunner, Result

from tests.integration.test_intake_gateway import CORP, Gateway
from tests.integration.test_intake_gateway import gateway as gateway  # the fixture
from tools.cli import app as wijkbus_cli
from tools.devstack import DEMO_PARTNERS, REPO
from wijkbus import db, vault

EXAMPLES = REPO / "examples"
SMALL_ROUND = EXAMPLES / "buurtbudget-voorbeeld.pb"  # made up, 4 projects


async def wijkbus(*args: str, url: str, answer: str | None = None) -> Result:
    """Run the `wijkbus` CLI against a test database (in a thread: it runs its own loop)."""
    return await asyncio.to_thread(
        CliRunner().invoke,
        wijkbus_cli,
        list(args),
        input=answer,
        env={"DATABASE_URL": url, "COLUMNS": "200"},
    )


async def fetchval(url: str, query: str, *args: object) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def test_decide_shows_project_names_and_costs_in_dutch_euros(fresh_database: str) -> None:
    imported = await wijkbus("budget", "import-pb", str(SMALL_ROUND), url=fresh_database)
    assert imported.exit_code == 0, imported.output

    decided = await wijkbus("budget", "decide", "pb:buurtbudget-voorbeeld", url=fresh_database)

    assert decided.exit_code == 0, decided.output
    titles = await fetchval(
        fresh_database, "SELECT array_agg(title ORDER BY project_id) FROM budget.round_projects"
    )
    assert isinstance(titles, list) and titles
    for title in titles:
        assert title[:20] in decided.output
    cost = await fetchval(fresh_database, "SELECT max(cost) FROM budget.round_projects")
    assert isinstance(cost, int)
    assert f"€ {cost // 1000}.{cost % 1000:03d},00" in decided.output  # all cost over € 1.000
    assert "opgeslagen" in decided.output


async def test_decide_with_another_rule_is_a_what_if_unless_save_is_given(
    fresh_database: str,
) -> None:
    path = Path("/work/shared/data/pabulib/Netherlands_Assen_2024.pb")
    imported = await wijkbus("budget", "import-pb", str(path), url=fresh_database)
    assert imported.exit_code == 0, imported.output
    rid = "pb:Netherlands_Assen_2024"
    assert (await wijkbus("budget", "decide", rid, url=fresh_database)).exit_code == 0
    stored = "SELECT rule FROM budget.round_decisions"

    what_if = await wijkbus("budget", "decide", rid, "--rule", "greedy", url=fresh_database)

    assert what_if.exit_code == 0, what_if.output
    assert "niet opgeslagen" in what_if.output and "--save" in what_if.output
    assert await fetchval(fresh_database, stored) == "equalshares/add1"

    saved = await wijkbus("budget", "decide", rid, "--rule", "greedy", "--save", url=fresh_database)

    assert saved.exit_code == 0, saved.output
    assert await fetchval(fresh_database, stored) == "greedy"
    # --replace, the option's name before, still says the same
    replaced = await wijkbus(
        "budget", "decide", rid, "--rule", "equalshares/add1", "--replace", url=fresh_database
    )
    assert replaced.exit_code == 0, replaced.output
    assert await fetchval(fresh_database, stored) == "equalshares/add1"


async def test_close_year_asks_first_and_a_no_leaves_the_year_open(fresh_database: str) -> None:
    year = ("--year", "2027", "--municipality", "Groningen")
    opened = await wijkbus("budget", "open-year", *year, url=fresh_database)
    assert opened.exit_code == 0, opened.output

    declined = await wijkbus("budget", "close-year", *year, url=fresh_database, answer="n\n")

    assert declined.exit_code == 1, declined.output
    assert "cannot be undone" in declined.output
    status = "SELECT status FROM budget.years WHERE year = 2027"
    assert await fetchval(fresh_database, status) != "gesloten"


async def _subject_in_vault(url: str) -> str:
    """Migrate intake's schema and seal one fictitious person; return its subject_ref."""
    await db.migrate_url(url, "intake", REPO / "services" / "intake" / "migrations")
    conn = await asyncpg.connect(url, server_settings={"search_path": "intake"})
    try:
        person = {"name": f"Test Persoon {uuid4().hex[:6]}", "phone": "0612345678"}
        (ref,) = await vault.seal_persons(
            conn, vault.Vault.ephemeral(), [(str(uuid4()), person)], datetime.now(UTC)
        )
        return ref
    finally:
        await conn.close()


async def test_erase_asks_first_and_a_second_erase_says_already_erased(
    fresh_database: str,
) -> None:
    ref = await _subject_in_vault(fresh_database)
    erasures = "SELECT count(*) FROM intake.vault_erasures"
    args = ("erase", "--subject", ref, "--by", "privacy officer T-2")

    declined = await wijkbus(*args, url=fresh_database, answer="n\n")

    assert declined.exit_code == 1, declined.output
    assert "cannot be undone" in declined.output
    assert await fetchval(fresh_database, erasures) == 0

    confirmed = await wijkbus(*args, url=fresh_database, answer="y\n")

    assert confirmed.exit_code == 0, confirmed.output
    assert f"erased {ref}" in confirmed.output

    again = await wijkbus(*args, "--yes", url=fresh_database)

    assert again.exit_code == 0, again.output
    assert "already erased on" in again.output and "privacy officer T-2" in again.output
    assert await fetchval(fresh_database, erasures) == 1


def _stack_file(tmp: Path, gw: Gateway, *, source: str | None = None) -> Path:
    """A stack.json for the test's intake, as `make run` writes it (only what `partner` reads)."""
    partners = [
        {
            "id": p["id"],
            "source": source or p["source"],
            "signing_secret": gw.creds.signing_secrets[p["id"]],
        }
        for p in DEMO_PARTNERS
    ]
    path = tmp / "stack.json"
    path.write_text(json.dumps({"broker": gw.bootstrap, "demo_partners": partners}))
    return path


async def test_simulate_shows_progress_and_counts_accepted_then_duplicates(
    gateway: Gateway, tmp_path: Path
) -> None:
    stack = _stack_file(tmp_path, gateway)
    args = ("partner", "simulate", "--scenario", "de-hoogte", "--rate", "0", "--count", "20")
    args += ("--as", CORP, "--stack", str(stack), "--seed", "7")

    first = await wijkbus(*args, url=gateway.database_url)

    assert first.exit_code == 0, first.output
    assert "published" in first.output and "receipts" in first.output  # the progress bars
    assert "accepted 20, duplicate 0, refused 0" in first.output
    assert await gateway.fetchval("SELECT count(*) FROM intake.signals") == 20

    again = await wijkbus(*args, url=gateway.database_url)  # same seed: the same event ids

    assert again.exit_code == 0, again.output
    assert "accepted 0, duplicate 20, refused 0" in again.output


async def test_simulate_names_why_events_were_refused(gateway: Gateway, tmp_path: Path) -> None:
    stack = _stack_file(tmp_path, gateway, source="urn:nld:kvknr:99999999:systeem:ander")
    args = ("partner", "simulate", "--scenario", "gemengd", "--rate", "0", "--count", "5")

    refused = await wijkbus(*args, "--as", CORP, "--stack", str(stack), url=gateway.database_url)

    assert refused.exit_code == 0, refused.output
    assert "accepted 0, duplicate 0, refused 5" in refused.output
    assert "refused because source: source must be this partner's registered source" in (
        refused.output
    )


async def test_partner_send_prints_the_receipt_of_the_example_event(
    gateway: Gateway, tmp_path: Path
) -> None:
    stack = _stack_file(tmp_path, gateway)
    args = ("partner", "send", "--as", CORP, "--stack", str(stack), str(EXAMPLES / "event.json"))

    sent = await wijkbus(*args, url=gateway.database_url)
    again = await wijkbus(*args, url=gateway.database_url)

    assert sent.exit_code == 0, sent.output
    assert "nl.wijkaanpak.ontvangst.geaccepteerd" in sent.output
    assert again.exit_code == 0, again.output
    assert "nl.wijkaanpak.ontvangst.duplicaat" in again.output
