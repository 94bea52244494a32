"""The buurtbudget demo that `make run` seeds: once, through budget's own API."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from services.budget import demo
from services.budget.app import BudgetSettings, build
from tests.support import running_app

TOKEN = "demo-operator"


async def test_the_demo_is_seeded_once_and_a_letter_s_code_opens_the_resident_page(
    fresh_database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = BudgetSettings(
        database_url=fresh_database, kafka_bootstrap_servers=kafka_bootstrap, operator_token=TOKEN
    )
    async with running_app(build(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        folder = await demo.seed(fresh_database, url, TOKEN, tmp_path / "letters")
        assert folder is not None
        letters = sorted(folder.glob("*.html"))
        assert len(letters) == 100
        assert "Javastraat 1<br>9714 AB  GRONINGEN" in letters[0].read_text()
        assert len(list(folder.glob("brieven-*-BU00140107-00001-00100.pdf"))) == 1
        code = re.search(r"[A-Z0-9]{4}(?:-[A-Z0-9]{4}){4,}[A-Z0-9-]*", letters[1].read_text())
        assert code is not None

        page = await http.post("/buurt", data={"code": code.group(0)})
        assert page.status_code == 200
        assert "Moestuinbakken op het Floresplein" in page.text
        assert "Steun dit initiatief" in page.text

        assert await demo.seed(fresh_database, url, TOKEN, tmp_path / "again") is None
        assert not (tmp_path / "again").exists()
