"""The results page of a buurt: each decided round's projects, votes and what was chosen.

Public, like a notice in the local paper: no code needed, nothing on it about a household.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.budget import round_store

router = APIRouter(prefix="/buurt/uitslag", include_in_schema=False)


@router.get("/{buurt_code}", response_class=HTMLResponse)
async def results(buurt_code: str, request: Request) -> HTMLResponse:
    """Every decided round of the buurt, newest first, with its result lines."""
    async with request.app.state.runtime.pool.acquire() as conn:
        rounds = await conn.fetch(
            "SELECT r.round_id, r.title, r.year, r.budget, d.spent,"
            " (SELECT count(*) FROM round_ballots b WHERE b.round_id = r.round_id) AS ballots"
            " FROM rounds r JOIN round_decisions d USING (round_id)"
            " WHERE r.buurt_code = $1 AND r.status = 'gesloten'"
            " ORDER BY d.decided_at DESC LIMIT 20",
            buurt_code[:64],
        )
        lines = {
            r["round_id"]: await round_store.round_results(conn, r["round_id"]) for r in rounds
        }
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request,
        "buurt_uitslag.html",
        {"title": "Buurtbudget", "buurt_code": buurt_code, "rounds": rounds, "lines": lines},
        status_code=200 if rounds else 404,
    )
    return response
