"""Abonnementen as the Notificaties API has them, kept as notify subscriptions.

An abonnement is one subscription on channel 'notificaties': its types are those of its
kanalen, a partner's hears only of itself (as every partner subscription does), and deliveries
go through notify's queue (order, retries, 410, dead letters) as `notificatie` JSON.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from services.notify import domain, signatures, store
from services.notify.crypto import SecretBox, new_signing_secret
from services.notify.notificaties import store as abonnement_store
from services.notify.notificaties.kanalen import BY_NAAM
from services.notify.subscription_requests import check_authorization, check_callback_url
from services.notify.subscriptions import Refused, check_answered
from services.notify.webhook import WebhookSender

CallbackUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(lambda v: check_callback_url(v, "callbackUrl", "auth")),
]
Auth = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1000),
    AfterValidator(lambda v: check_authorization(v, "auth")),
]
AUTH_DOC = "The Authorization header value sent, e.g. 'Bearer a4daa31...'; never shown again."


class FilterGroup(BaseModel):
    """A kanaal of an abonnement, with its kenmerk filters (value '*' takes any value)."""

    model_config = ConfigDict(extra="forbid")

    naam: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    filters: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=100)],
        Annotated[str, StringConstraints(min_length=1, max_length=1000)],
    ] = {}


class AbonnementIn(BaseModel):
    """The body of POST and PUT /abonnement."""

    model_config = ConfigDict(extra="forbid")

    callbackUrl: CallbackUrl
    auth: Auth = Field(description=AUTH_DOC)
    kanalen: list[FilterGroup] = Field(min_length=1, max_length=5)


class AbonnementPatch(BaseModel):
    """The body of PATCH /abonnement/{uuid}: the fields to change."""

    model_config = ConfigDict(extra="forbid")

    callbackUrl: CallbackUrl | None = None
    auth: Auth | None = Field(None, description=AUTH_DOC)
    kanalen: list[FilterGroup] | None = Field(None, min_length=1, max_length=5)


@dataclass(frozen=True)
class Abonnementen:
    """Creates (after a test notificatie), changes and ends abonnementen."""

    box: SecretBox
    sender: WebhookSender
    clock: Callable[[], datetime]

    async def create(
        self,
        pool: asyncpg.Pool,
        body: AbonnementIn,
        owner: str | None,
        url_of: Callable[[str], str],
    ) -> tuple[str, str]:
        """Check the callback with a test notificatie, then store; (id, signing secret)."""
        groups = _checked(body.kanalen, owner)
        sub_id = uuid.uuid4()
        await self._test(sub_id, body.callbackUrl, body.auth, url_of(str(sub_id)))
        secret = new_signing_secret()
        new = store.NewSubscription(
            id=sub_id,
            owner_partner_id=owner,
            channel="notificaties",
            callback_url=body.callbackUrl,
            email_address=None,
            authorization_enc=self.box.seal(body.auth, f"{sub_id}:auth"),
            signing_secret_enc=self.box.seal(secret, f"{sub_id}:signing"),
            types=_types(groups),
            filters=domain.Filters(partner=owner),
            kanalen=groups,
        )
        async with pool.acquire() as conn, conn.transaction():
            await store.insert_subscription(conn, new)
        return str(sub_id), secret

    async def change(
        self,
        pool: asyncpg.Pool,
        abonnement_id: str,
        changes: AbonnementPatch,
        owner: str | None,
        url_of: Callable[[str], str],
    ) -> bool:
        """PUT or PATCH; a new callback or auth is tested first. False: not the caller's."""
        async with pool.acquire() as conn, conn.transaction():
            found = await abonnement_store.abonnement(conn, abonnement_id, owner, lock=True)
            if found is None:
                return False
            sub_id = found["id"]
            callback = changes.callbackUrl or found["callback_url"]
            groups = (
                found["kanalen"] if changes.kanalen is None else _checked(changes.kanalen, owner)
            )
            if changes.callbackUrl is not None or changes.auth is not None:
                auth = changes.auth or self.box.open(
                    await _sealed_auth(conn, sub_id), f"{sub_id}:auth"
                )
                await self._test(sub_id, callback, auth, url_of(abonnement_id))
            await abonnement_store.change(
                conn,
                sub_id,
                callback_url=callback,
                authorization_enc=None
                if changes.auth is None
                else self.box.seal(changes.auth, f"{sub_id}:auth"),
                types=_types(groups),
                kanalen=groups,
                at=self.clock(),
            )
        return True

    async def _test(self, sub_id: uuid.UUID, url: str, auth: str, abonnement_url: str) -> None:
        """POST a test notificatie (kanaal 'test'); Refused unless answered with 2xx. What the
        receiver wrote is never shown (the answer of another host is not for the caller)."""
        note = {
            "kanaal": "test",
            "hoofdObject": abonnement_url,
            "resource": "abonnement",
            "resourceUrl": abonnement_url,
            "actie": "create",
            "aanmaakdatum": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "kenmerken": {},
        }
        body = json.dumps(note).encode()
        test_id = signatures.message_id(sub_id, f"test-{uuid.uuid4()}")
        result = await self.sender.post(
            url, auth, new_signing_secret(), body, test_id, content_type="application/json"
        )
        check_answered(result, "the test notificatie", "callbackUrl")


async def _sealed_auth(conn: asyncpg.Connection, sub_id: uuid.UUID) -> bytes:
    sealed = await conn.fetchval(
        "SELECT authorization_enc FROM subscriptions WHERE id = $1", sub_id
    )
    return bytes(sealed)


def _checked(groups: list[FilterGroup], owner: str | None) -> list[dict[str, Any]]:
    """The kanalen as stored; Refused for an unknown kanaal, a filter on a kenmerk the kanaal
    does not carry, another partner's id, or a kanaal a partner would never hear of."""
    errors = [e for n, g in enumerate(groups) for e in _group_errors(f"kanalen.{n}", g, owner)]
    if errors:
        raise Refused(400, "invalid abonnement", errors=errors)
    return [{"naam": g.naam, "filters": dict(g.filters)} for g in groups]


def _group_errors(where: str, group: FilterGroup, owner: str | None) -> list[dict[str, str]]:
    kanaal = BY_NAAM.get(group.naam)
    if kanaal is None:
        return [{"field": f"{where}.naam", "message": "Kanaal met deze naam bestaat niet."}]
    errors = []
    unknown = sorted(set(group.filters) - set(kanaal.filters))
    if unknown:
        carried = ", ".join(kanaal.filters)
        message = f"kanaal {kanaal.naam} has no kenmerk {', '.join(unknown)}; it has {carried}"
        errors.append({"field": f"{where}.filters", "message": message})
    if owner is not None and "partner" not in kanaal.filters:
        message = f"kanaal {kanaal.naam} names no partner: a partner's abonnement never hears of it"
        errors.append({"field": f"{where}.naam", "message": message})
    if owner is not None and group.filters.get("partner", owner) not in (owner, "*"):
        message = "a partner may filter only on its own id"
        errors.append({"field": f"{where}.filters.partner", "message": message})
    return errors


def _types(groups: list[dict[str, Any]]) -> list[str]:
    return sorted({t for g in groups for t in BY_NAAM[g["naam"]].types})
