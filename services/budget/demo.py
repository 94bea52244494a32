"""The buurtbudget's demo for `make run`: a register, an open year, letters and one initiative.

On the first start only (an empty register): De Hoogte in Groningen gets 100 fictitious
households, the current year opens under the `pledge` rule, every household gets a voting code
in a printable letter under `.wijkbus/letters/`, and one initiative is proposed with one of those
codes and admitted by the operator — through budget's own HTTP API, as a resident and an
operator would. A developer opens a letter, takes its code to the resident page and supports it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from services.budget import register
from services.budget.domain.households import parse_register
from services.budget.letters import write_all
from wijkbus.vault import Vault

REPO = Path(__file__).resolve().parents[2]
HOUSEHOLDS = REPO / "deploy" / "demo" / "households.csv"
MUNICIPALITY = "Groningen"
BUURT = "BU00140107"


async def seed(
    database_url: str,
    budget_url: str,
    operator_token: str,
    letters_dir: Path,
    vault: Vault | None = None,
) -> Path | None:
    """Seed the demo once; return the folder with the letters (None: seeded before).

    The households' addresses are sealed under `vault` (the stack's BUDGET_VAULT_KEY; a
    throwaway key when None).
    """
    year = datetime.now(UTC).year
    vault = vault or Vault.ephemeral()
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "budget"})
    try:
        if await conn.fetchval("SELECT count(*) FROM households"):
            return None
        households = parse_register(HOUSEHOLDS.read_text(encoding="utf-8"))
        await register.import_households(conn, MUNICIPALITY, households, datetime.now(UTC), vault)
        y = await register.open_year(conn, MUNICIPALITY, year, None, "pledge")
        letters, _ = await register.issue_codes(conn, MUNICIPALITY, year, BUURT, vault)
    finally:
        await conn.close()
    folder = letters_dir / f"{year}-{BUURT}"
    write_all(
        letters,
        folder,
        municipality=MUNICIPALITY,
        year=year,
        allowance_cents=y.allowance_cents,
        site_url=f"{budget_url}/buurt",
    )
    async with httpx.AsyncClient(base_url=budget_url, timeout=30) as http:
        proposed = await http.post(
            "/api/v1/initiatives",
            json={
                "code": letters[0].code,
                "title": "Moestuinbakken op het Floresplein",
                "description": "Zes houten bakken met aarde en zaad; de buurt onderhoudt ze.",
                "cost_cents": 45_000,
                "contact": {"name": "Demo initiatiefnemer", "email": "moestuin@example.org"},
            },
        )
        proposed.raise_for_status()
        initiative = proposed.json()["initiative_id"]
        admitted = await http.post(
            f"/api/v1/initiatives/{initiative}/admit",
            json={"deadline": (datetime.now(UTC) + timedelta(days=60)).isoformat()},
            headers={"Authorization": f"Bearer {operator_token}"},
        )
        admitted.raise_for_status()
    return folder
