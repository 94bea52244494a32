"""The wijkteam's decisions on a street's advice and on a hub, each one event.

Every decision is checked, becomes its event, changes the hub by `apply` (the same function a
replay runs on the events of wijkhubs.events) and goes out through the outbox, in one
transaction. Raises DecisionRefused (409) or PlanRefused (400) and changes nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel

from contracts.envelope import CloudEvent
from contracts.wijkhubs import (
    WIJKHUB_CLOSED_TYPE,
    WIJKHUB_DECLINED_TYPE,
    WIJKHUB_EXTENDED_TYPE,
    WIJKHUB_OPENED_TYPE,
    WijkhubClosed,
    WijkhubDeclined,
    WijkhubExtended,
    WijkhubOpened,
)
from services.routing.messages import wijkhub_message
from services.routing.wijkhub import domain, reading, store
from services.routing.wijkhub.domain import (
    Contact,
    DecisionRefused,
    Plan,
    PlanRefused,
    UnknownHub,
)
from services.routing.wijkhub.evaluation import evaluate
from wijkbus.outbox import enqueue
from wijkbus.vault import Vault


@dataclass
class Wijkhubs:
    """Decides on hubs; `zone` turns the plan's days into moments."""

    vault: Vault
    clock: Callable[[], datetime]
    zone: ZoneInfo
    partners: tuple[str, ...]

    async def open(self, conn: asyncpg.Connection, plan: Plan, who: str) -> WijkhubOpened:
        """Open a hub; 409 when one of its streets already has a hub in that period."""
        now = self.clock()
        await store.lock_hubs(conn)
        names = await reading.street_names(conn, plan.street_keys)
        opened = WijkhubOpened(
            hub_id=f"hub-{uuid.uuid4().hex}", street_keys=plan.street_keys,
            buurt_code=plan.buurt_code, city=await self._city(conn, plan, names),
            address=plan.address, starts_at=max(self._moment(plan.starts_on), now),
            ends_at=self._moment(plan.ends_on + timedelta(days=1)), partners=plan.partners,
            contact_role=plan.contact.role, aims=plan.aims, opened_by=who, opened_at=now,
        )  # fmt: skip
        if problems := domain.plan_problems(
            plan, names, self.partners, opened, now.astimezone(self.zone).date()
        ):
            raise PlanRefused(problems)
        hub = domain.Hub(opened.hub_id, frozenset(plan.street_keys), plan.buurt_code,
                         opened.starts_at, opened.ends_at, now)  # fmt: skip
        buurten = {key: name["buurt_code"] for key, name in names.items()}
        others = await store.hubs_between(conn, hub.starts_at, hub.end)
        if clash := domain.overlapping(hub, others, buurten):
            raise DecisionRefused(f"these streets already have a wijkhub then: {clash[0]}")
        await self._decided(conn, WIJKHUB_OPENED_TYPE, opened.hub_id, opened, opened.opened_at)
        await self._seal(conn, opened.hub_id, plan.contact)
        return opened

    async def decline(
        self, conn: asyncpg.Connection, street_key: str, reason: str, who: str
    ) -> WijkhubDeclined:
        """Record the decision not to open a hub on the street's open advice, with why."""
        advised = {a["street_key"]: a for a in await reading.open_advice(conn)}
        if street_key not in advised:
            raise DecisionRefused("this street has no advice awaiting a decision")
        a = advised[street_key]
        declined = WijkhubDeclined(
            street_key=street_key, street=a["street"], city=a["city"],
            buurt_code=a["buurt_code"], reason=reason, declined_by=who,
            declined_at=self.clock(),
        )  # fmt: skip
        at = declined.declined_at
        await self._decided(conn, WIJKHUB_DECLINED_TYPE, street_key, declined, at)
        return declined

    async def extend(
        self, conn: asyncpg.Connection, hub_id: str, ends_on: date, who: str
    ) -> WijkhubExtended:
        """Give a running hub a later last day."""
        now, row = self.clock(), await self._locked(conn, hub_id)
        hub, ends_at = store.hub_from(row), self._moment(ends_on + timedelta(days=1))
        domain.may_extend(hub, ends_at, now)
        extended = WijkhubExtended(
            hub_id=hub_id, address=row["address"], city=row["city"],
            street_keys=row["street_keys"], buurt_code=row["buurt_code"],
            partners=row["partners"], previous_ends_at=hub.ends_at, ends_at=ends_at,
            extended_by=who, extended_at=now,
        )  # fmt: skip
        await self._decided(conn, WIJKHUB_EXTENDED_TYPE, hub_id, extended, now)
        return extended

    async def close(
        self, conn: asyncpg.Connection, hub_id: str, note: str, who: str
    ) -> WijkhubClosed:
        """Close the hub with the team's own note; the evaluation as of now goes with it."""
        now, row = self.clock(), await self._locked(conn, hub_id)
        domain.may_close(store.hub_from(row))
        inputs = await reading.report_inputs(conn, hub_id, now)
        assert inputs is not None  # locked above
        _, period, hub_incidents, comparison, others = inputs
        period = replace(period, end=min(period.end, now))
        closed = WijkhubClosed(
            hub_id=hub_id, address=row["address"], city=row["city"],
            street_keys=row["street_keys"], buurt_code=row["buurt_code"],
            partners=row["partners"], outcome_note=note, closed_by=who, closed_at=now,
            evaluation=evaluate(period, hub_incidents, comparison, others, now),
        )  # fmt: skip
        await self._decided(conn, WIJKHUB_CLOSED_TYPE, hub_id, closed, now)
        return closed

    async def contact(self, conn: asyncpg.Connection, hub_id: str) -> dict[str, str | None]:
        """Open the hub's sealed contact person (for an operator who must reach them)."""
        row = await store.sealed_contact(conn, hub_id)
        if row is None or row["contact_subject"] is None:
            raise UnknownHub(hub_id)
        key = self.vault.unwrap(row["contact_subject"], row["wrapped_key"])
        opened: dict[str, str | None] = json.loads(
            self.vault.open(key, row["contact_sealed"], hub_id)
        )
        return opened

    async def _decided(
        self, conn: asyncpg.Connection, type_: str, key: str, data: BaseModel, at: datetime
    ) -> None:
        await apply(conn, data)
        event_id = f"{type_.rsplit('.', 1)[1]}-{key}-{at.isoformat()}"
        await enqueue(conn, wijkhub_message(type_, key, data, id=event_id, at=at))

    async def _locked(self, conn: asyncpg.Connection, hub_id: str) -> asyncpg.Record:
        await store.lock_hubs(conn)
        row = await store.hub(conn, hub_id, lock=True)
        if row is None:
            raise UnknownHub(hub_id)
        return row

    async def _seal(self, conn: asyncpg.Connection, hub_id: str, contact: Contact) -> None:
        ref = self.vault.subject_ref(contact.name, contact.phone, contact.email)
        key = self.vault.unwrap(
            ref, await store.contact_key(conn, ref, self.vault.new_subject_key(ref)[1])
        )
        plaintext = json.dumps(contact.__dict__, ensure_ascii=False, sort_keys=True).encode()
        await store.seal_contact(conn, hub_id, ref, self.vault.seal(key, plaintext, hub_id))

    async def _city(
        self, conn: asyncpg.Connection, plan: Plan, names: dict[str, dict[str, str]]
    ) -> str:
        if names:
            return next(iter(names.values()))["city"]
        found = await conn.fetchval(
            "SELECT city FROM street_counts WHERE buurt_code = $1 LIMIT 1", plan.buurt_code
        )
        return str(found or "")

    def _moment(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.zone)


DECISIONS: dict[str, type[BaseModel]] = {
    WIJKHUB_OPENED_TYPE: WijkhubOpened,
    WIJKHUB_EXTENDED_TYPE: WijkhubExtended,
    WIJKHUB_CLOSED_TYPE: WijkhubClosed,
    WIJKHUB_DECLINED_TYPE: WijkhubDeclined,
}


async def apply(conn: asyncpg.Connection, data: BaseModel) -> None:
    """What a decision's event does to the hubs: live after deciding, and on a replay."""
    match data:
        case WijkhubOpened():
            await store.opened(conn, data)
        case WijkhubExtended():
            await store.extended(conn, data)
        case WijkhubClosed():
            await store.closed(conn, data)
        case WijkhubDeclined():
            await store.declined(conn, data)


async def on_decisions(conn: asyncpg.Connection, events: list[CloudEvent]) -> None:
    """wijkhubs.events on a replay: each decision again, in order (the advice is derived from
    the signals, so the replay judges it anew instead)."""
    for event in events:
        if (model := DECISIONS.get(event.type)) is not None:
            await apply(conn, model.model_validate(event.data))
