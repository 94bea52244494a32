"""The buurtbudget's use cases: load → one domain step → save + outbox, in one transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from contracts import events as ev
from services.budget import codes, register, reporting
from services.budget import events as outbox
from services.budget import initiatives as store
from services.budget.domain import initiatives as rules
from services.budget.domain.support import SupportDecision
from wijkbus.vault import Vault


class SupportRefusedError(Exception):
    """A resident's request cannot be honoured; `kind` picks the HTTP status, message is Dutch."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _refused(kind: str, message: str) -> SupportRefusedError:
    return SupportRefusedError(kind, message)


UNKNOWN_CODE = "Deze code kennen we niet, of hij hoort bij een jaar dat gesloten is. Controleer de code in uw brief."  # noqa: E501


@dataclass(frozen=True)
class Contact:
    """The initiator's contact: personal data, sealed before it is stored."""

    name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class Supported:
    """The outcome of a support: the initiative, its progress, whether it is now funded."""

    initiative_id: str
    title: str
    decision: SupportDecision


class Budget:
    """The service core; built once in the composition root with its clock, vault and key."""

    def __init__(
        self, *, clock: Callable[[], datetime], vault: Vault, pseudonym_key: bytes | None
    ) -> None:
        self.clock = clock
        self.vault = vault
        self._key = pseudonym_key

    async def key(self, conn: asyncpg.Connection) -> bytes:
        """The pseudonym key: configured, else the database's own (dev and tests)."""
        if self._key is None:
            self._key = bytes(await conn.fetchval("SELECT secret FROM pseudonym_key"))
        return self._key

    async def holder(self, conn: asyncpg.Connection, code: str) -> register.CodeHolder:
        """The household of a code; refused (unknown code) otherwise."""
        holder = await register.holder_of(conn, code)
        if holder is None:
            raise _refused("unknown-code", UNKNOWN_CODE)
        return holder

    async def supporter(self, conn: asyncpg.Connection, holder: register.CodeHolder) -> str:
        """The household's pseudonym for this municipality and year."""
        scope = f"{holder.municipality}:{holder.year}"
        return codes.pseudonym(await self.key(conn), scope, holder.household_id)

    async def propose(
        self,
        conn: asyncpg.Connection,
        code: str,
        title: str,
        description: str,
        cost_cents: int,
        contact: Contact,
    ) -> str:
        """A resident proposes an initiative for their own buurt; the contact is sealed."""
        now = self.clock()
        async with conn.transaction():
            holder = await self.holder(conn, code)
            initiative_id = str(uuid.uuid4())
            ref, sealed = await self._seal_contact(conn, initiative_id, contact)
            await store.insert(conn, {
                "initiative_id": uuid.UUID(initiative_id), "municipality": holder.municipality,
                "year": holder.year, "buurt_code": holder.buurt_code, "title": title,
                "description": description, "cost_cents": cost_cents,
                "funding_rule": holder.funding_rule, "contact_subject": ref,
                "contact_sealed": sealed, "created_at": now,
                "proposed_by": await self.supporter(conn, holder),
            })  # fmt: skip
            await outbox.record(conn, initiative_id, ev.InitiativeProposed(
                initiative_id=initiative_id, municipality=holder.municipality, year=holder.year,
                buurt_code=holder.buurt_code, title=title, cost_cents=cost_cents,
                funding_rule=holder.funding_rule, proposed_at=now,  # type: ignore[arg-type]
            ), now)  # fmt: skip
        return initiative_id

    async def _seal_contact(
        self, conn: asyncpg.Connection, initiative_id: str, contact: Contact
    ) -> tuple[str, bytes]:
        ref = self.vault.subject_ref(contact.name, contact.phone, contact.email)
        _, wrapped = self.vault.new_subject_key(ref)
        await conn.execute(
            "INSERT INTO contact_keys (subject_ref, wrapped_key) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING",
            ref,
            wrapped,
        )
        stored = await conn.fetchval(
            "SELECT wrapped_key FROM contact_keys WHERE subject_ref = $1 FOR SHARE", ref
        )
        plaintext = json.dumps(contact.__dict__, ensure_ascii=False, sort_keys=True).encode()
        return ref, self.vault.seal(self.vault.unwrap(ref, stored), plaintext, initiative_id)

    async def contact(self, conn: asyncpg.Connection, initiative_id: str) -> dict[str, Any]:
        """Open the initiator's sealed contact (for an operator who must reach them)."""
        row = await conn.fetchrow(
            "SELECT i.contact_subject, i.contact_sealed, k.wrapped_key FROM initiatives i"
            " LEFT JOIN contact_keys k ON k.subject_ref = i.contact_subject"
            " WHERE i.initiative_id = $1::uuid",
            initiative_id,
        )
        if row is None or row["contact_subject"] is None:
            raise store.UnknownInitiativeError(initiative_id)
        key = self.vault.unwrap(row["contact_subject"], row["wrapped_key"])
        opened: dict[str, Any] = json.loads(
            self.vault.open(key, row["contact_sealed"], initiative_id)
        )
        return opened

    async def admit(self, conn: asyncpg.Connection, initiative_id: str, deadline: datetime) -> None:
        """An operator admits an initiative, open for support until `deadline`."""
        now = self.clock()
        async with conn.transaction():
            row = await store.load_for_update(conn, initiative_id)
            admitted = rules.admit(store.as_domain(row), deadline, now)
            await store.set_status(conn, admitted, None, now)
            await outbox.record(conn, initiative_id, ev.InitiativeAdmitted(
                initiative_id=initiative_id, buurt_code=row["buurt_code"], deadline=deadline,
                admitted_at=now,
            ), now)  # fmt: skip

    async def decline(self, conn: asyncpg.Connection, initiative_id: str, reason: str) -> None:
        """An operator declines an initiative with a reason."""
        now = self.clock()
        async with conn.transaction():
            row = await store.load_for_update(conn, initiative_id)
            declined = rules.decline(store.as_domain(row), reason)
            await store.set_status(conn, declined, reason, now)
            await outbox.record(conn, initiative_id, ev.InitiativeDeclined(
                initiative_id=initiative_id, buurt_code=row["buurt_code"], reason=reason,
                declined_at=now, title=row["title"],
            ), now)  # fmt: skip

    async def withdraw(self, conn: asyncpg.Connection, initiative_id: str) -> None:
        """The initiator (through an operator) withdraws an initiative; its pledges lapse back."""
        now = self.clock()
        async with conn.transaction():
            row = await store.load_for_update(conn, initiative_id)
            withdrawn = rules.withdraw(store.as_domain(row))
            await store.set_status(conn, withdrawn, "ingetrokken door de initiatiefnemer", now)
            # Released pledges: the household may pledge its allowance to another initiative.
            await conn.execute("DELETE FROM supports WHERE initiative_id = $1::uuid", initiative_id)
            await outbox.record(conn, initiative_id, ev.InitiativeWithdrawn(
                initiative_id=initiative_id, buurt_code=row["buurt_code"], withdrawn_at=now,
            ), now)  # fmt: skip

    async def support(self, conn: asyncpg.Connection, code: str, initiative_id: str) -> Supported:
        """A household supports (pledges to) an initiative of its buurt — once."""
        now = self.clock()
        async with conn.transaction():
            holder = await self.holder(conn, code)
            row = await self._initiative_of(conn, holder, initiative_id)
            initiative = store.as_domain(row)
            _check(rules.check_open_for_support, initiative, now)
            amount = holder.allowance_cents if initiative.funding_rule == "pledge" else 0
            try:
                async with conn.transaction():  # a savepoint: the violation is our answer
                    await store.add_support(
                        conn, row, await self.supporter(conn, holder), amount, now
                    )
            except asyncpg.UniqueViolationError:
                raise _already(initiative.funding_rule, holder.year) from None
            support = await store.support_of(conn, row, holder.allowance_cents)
            decision = rules.progress(initiative, support)
            await outbox.record(conn, initiative_id, ev.InitiativeSupported(
                initiative_id=initiative_id, buurt_code=row["buurt_code"],
                funding_rule=initiative.funding_rule, supporters=support.supporters,
                have=decision.have, need=decision.need, supported_at=now,
            ), now)  # fmt: skip
            if decision.funded:
                await self.decide(conn, row, initiative, support, "gefinancierd", decision, now)
        reporting.support_given(initiative_id, row["buurt_code"], decision.funded)
        return Supported(initiative_id, row["title"], decision)

    async def withdraw_support(
        self, conn: asyncpg.Connection, code: str, initiative_id: str
    ) -> None:
        """A household takes its support back while the initiative is open, before its deadline."""
        now = self.clock()
        async with conn.transaction():
            holder = await self.holder(conn, code)
            row = await self._initiative_of(conn, holder, initiative_id)
            _check(rules.check_open_for_support, store.as_domain(row), now)
            if not await store.remove_support(
                conn, initiative_id, await self.supporter(conn, holder)
            ):
                raise _refused("not-supported", "U steunt dit initiatief niet.")
            support = await store.support_of(conn, row, holder.allowance_cents)
            await outbox.record(conn, initiative_id, ev.InitiativeSupportWithdrawn(
                initiative_id=initiative_id, buurt_code=row["buurt_code"],
                supporters=support.supporters, withdrawn_at=now,
            ), now)  # fmt: skip

    async def _initiative_of(
        self, conn: asyncpg.Connection, holder: register.CodeHolder, initiative_id: str
    ) -> asyncpg.Record:
        try:
            row = await store.load_for_update(conn, initiative_id)
        except store.UnknownInitiativeError:
            raise _refused("not-found", "Dit initiatief bestaat niet.") from None
        if (row["municipality"], row["year"]) != (holder.municipality, holder.year):
            raise _refused("not-found", "Dit initiatief bestaat niet.")
        if row["buurt_code"] != holder.buurt_code:
            raise _refused("other-buurt", "U kunt alleen initiatieven in uw eigen buurt steunen.")
        return row

    async def decide(
        self,
        conn: asyncpg.Connection,
        row: asyncpg.Record,
        initiative: rules.Initiative,
        support: rules.Support,
        status: rules.Status,
        decision: SupportDecision,
        now: datetime,
    ) -> None:
        """Record an initiative's decision (funded or not funded) and its event."""
        decided = rules.Initiative(
            initiative.initiative_id, status, initiative.cost_cents, initiative.funding_rule,
            initiative.deadline,
        )  # fmt: skip
        await store.set_status(conn, decided, decision.reason, now)
        common = {
            "initiative_id": initiative.initiative_id, "buurt_code": row["buurt_code"],
            "funding_rule": initiative.funding_rule, "cost_cents": initiative.cost_cents,
            "supporters": support.supporters, "reason": decision.reason,
        }  # fmt: skip
        data = (
            ev.InitiativeFunded(**common, funded_at=now)
            if status == "gefinancierd"
            else ev.InitiativeNotFunded(**common, decided_at=now)
        )
        await outbox.record(conn, initiative.initiative_id, data, now)


def _check(
    step: Callable[[rules.Initiative, datetime], None], i: rules.Initiative, now: datetime
) -> None:
    try:
        step(i, now)
    except rules.InitiativeStateError as exc:
        raise _refused("closed", str(exc)) from None


def _already(funding_rule: str, year: int) -> SupportRefusedError:
    # Which unique index fired does not matter: under `pledge` the whole year's say is spent.
    if funding_rule == "pledge":
        return _refused(
            "used", f"Deze code is al gebruikt: uw huishouden heeft zijn budget van {year} al "
            "toegezegd aan een initiatief.",
        )  # fmt: skip
    return _refused("used", "Deze code is al gebruikt: uw huishouden steunt dit initiatief al.")
