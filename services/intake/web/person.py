"""GET /api/v1/signals/{id}/person: sealed personal data for the one partner allowed to read it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.intake import domain, queries, store
from services.intake.handlers import Intake
from wijkbus import auth, vault
from wijkbus.http import problem
from wijkbus.logging import get_logger

router = APIRouter(prefix="/api/v1")
log = get_logger(__name__)
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/signals/{signal_id}/person", responses={401: {}, 404: {}, 410: {}, 503: {}})
async def read_person(signal_id: str, request: Request) -> Response:
    """The person of a signal, for its assigned partner if that partner may read personal data.

    Everyone else gets 404, so the answer does not tell whether the signal has (or had) a
    person; once the subject was erased, the partner that may read it gets 410. Every attempt is
    audited.
    """
    intake: Intake = request.app.state.intake
    key = auth.bearer(request)
    partner = intake.partners.by_api_key(key) if key else None
    async with request.app.state.runtime.pool.acquire() as conn, conn.transaction():
        outcome, person = "unauthenticated", None
        if partner is not None:
            state = await queries.signal_state(conn, signal_id)
            sealed = await vault.person_state(conn, signal_id) if state else "none"
            if sealed == "none" or not domain.may_read_person(partner, state):
                outcome = "refused"  # before "erased": a 410 would say there was a person
            elif sealed == "erased":
                outcome = "erased"
            else:
                try:
                    person, outcome = await vault.open_person(conn, intake.vault, signal_id), "read"
                except vault.VaultError:
                    outcome = "unreadable"
        # Audited in the same transaction: no read is served that was not recorded.
        await store.record_person_read(
            conn, partner.id if partner else None, signal_id, outcome, intake.clock()
        )
    log.info(
        "personal data requested",
        partner_id=partner.id if partner else None,
        signal_id=signal_id[:100],
        outcome=outcome,
    )
    if outcome == "read":
        return JSONResponse(person, headers=NO_STORE)
    if outcome == "unauthenticated":
        return problem(401, "unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    if outcome == "erased":
        return problem(410, "gone", detail="the personal data of this signal was erased")
    if outcome == "unreadable":
        log.error("vault cannot open a sealed person: is INTAKE_VAULT_KEY the right key?")
        return problem(503, "personal data unavailable", headers={"Retry-After": "60"})
    return problem(404, "no such signal")
