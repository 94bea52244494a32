"""The initiator channel: where a buurtbudget initiative's initiator gets their mail.

Budget keeps the initiator's contact sealed. Notify asks budget's operator API for it at the
moment it sends (`GET /api/v1/initiatives/{id}/contact`, where budget logs every read), uses it
for that one mail, and never stores, logs or shows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx


class ContactGone(Exception):
    """Budget has no contact for this initiative (erased, or no such initiative): give up."""


class ContactUnavailable(Exception):
    """Budget could not answer now: try again later."""


@dataclass(frozen=True)
class InitiatorContacts:
    """Looks up initiators' e-mail addresses in budget."""

    client: httpx.AsyncClient
    budget_url: str | None
    token: str | None
    timeout_s: float = 10.0

    async def address(self, event_body: bytes) -> str:
        """The e-mail address of the initiator of the initiative `event_body` is about."""
        if not self.budget_url or not self.token:
            raise ContactUnavailable("NOTIFY_BUDGET_URL and NOTIFY_BUDGET_TOKEN are not set")
        data = json.loads(event_body).get("data") or {}
        initiative_id = data.get("initiative_id")
        if not isinstance(initiative_id, str) or not initiative_id:
            raise ContactGone("the event names no initiative")
        url = f"{self.budget_url.rstrip('/')}/api/v1/initiatives/{initiative_id}/contact"
        try:
            answer = await self.client.get(
                url, headers={"Authorization": f"Bearer {self.token}"}, timeout=self.timeout_s
            )
        except httpx.HTTPError as exc:
            raise ContactUnavailable(f"budget did not answer: {type(exc).__name__}") from None
        if answer.status_code in (404, 410):
            raise ContactGone(f"budget answered {answer.status_code}: no contact to mail")
        if answer.status_code != 200:
            raise ContactUnavailable(f"budget answered {answer.status_code}")
        email = answer.json().get("email")
        if not isinstance(email, str) or "@" not in email:
            raise ContactGone("the initiator left no e-mail address")
        return email
