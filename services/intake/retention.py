"""Retention (AVG): how long intake keeps sealed personal data and signals after resolution.

Per category a number of days after the signal was resolved (`afgehandeld`):
- `personal_data_days`: then the sealed person is destroyed (its ciphertext dropped, and the
  subject's key shredded once none of its persons is left), so no replay can bring it back;
- `signal_days`: then the signal is anonymised: its street-level location is removed from the
  signal, its event-log rows are redacted (each by a signed redaction act that records the
  hash of what it removed, so the chain still verifies). The event log is the outbox, so what
  was published about it is gone from what republishing and replays send too.
Every action is written to `retention_log` with the rule that caused it, and logged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from services.intake import ledger, ledger_acts
from services.intake.ledger_acts import LedgerKey
from wijkbus import vault
from wijkbus.logging import get_logger
from wijkbus.periodic import Periodic

log = get_logger(__name__)

PERSONAL = "persoonsgegevens vernietigd"
ANONYMISED = "melding geanonimiseerd"


class Keep(BaseModel):
    """How long to keep, in days after resolution."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    personal_data_days: int = Field(gt=0)
    signal_days: int = Field(gt=0)


DEFAULT_POLICY: Mapping[str, Keep] = {
    "huurachterstand": Keep(personal_data_days=183, signal_days=5 * 365),
    "default": Keep(personal_data_days=365, signal_days=5 * 365),
}


@dataclass(frozen=True)
class Applied:
    """What one retention round did."""

    persons: int
    subjects_shredded: int
    signals_anonymised: int


def _keep_for(policy: Mapping[str, Keep], categorie: str) -> Keep:
    return policy.get(categorie) or policy["default"]


# Resolved signals whose term ran out: $1/$2 the categories with a term of their own and its
# days, $3 the default days, $4 now, $5 the shortest term (so the index signals_resolved narrows
# the scan to rows old enough for any category before the per-category check).
_EXPIRED = (
    "LEFT JOIN unnest($1::text[], $2::int[]) AS k (categorie, days) ON k.categorie = s.categorie"
    " WHERE s.resolved_at <= $4::timestamptz - make_interval(days => $5::int)"
    " AND s.resolved_at + make_interval(days => coalesce(k.days, $3::int)) <= $4::timestamptz"
)


def _terms(policy: Mapping[str, Keep], term: str, now: datetime) -> tuple[object, ...]:
    """The parameters of `_EXPIRED` for one term (`personal_data_days` or `signal_days`)."""
    days = {categorie: getattr(keep, term) for categorie, keep in policy.items()}
    own = {categorie: d for categorie, d in days.items() if categorie != "default"}
    return list(own), list(own.values()), days["default"], now, min(days.values())


async def apply(
    conn: asyncpg.Connection, policy: Mapping[str, Keep], now: datetime, key: LedgerKey
) -> Applied:
    """Destroy and anonymise what expired by `now`, in one transaction; return the counts.

    `key` signs the redaction of each event-log row (see `ledger_acts.redact`)."""
    persons = shredded = anonymised = 0
    async with conn.transaction():
        due_persons = await conn.fetch(
            "SELECT s.signal_id, s.categorie, p.subject_ref FROM signals s"
            " JOIN vault_persons p USING (signal_id)"
            f" {_EXPIRED} AND p.sealed IS NOT NULL FOR UPDATE OF p",
            *_terms(policy, "personal_data_days", now),
        )
        subjects = set()
        for row in due_persons:
            keep = _keep_for(policy, row["categorie"])
            await conn.execute(
                "UPDATE vault_persons SET sealed = NULL WHERE signal_id = $1", row["signal_id"]
            )
            reason = (
                f"bewaartermijn {row['categorie']}: persoonsgegevens"
                f" {keep.personal_data_days} dagen na afhandeling"
            )
            await _log(conn, now, row["signal_id"], row["categorie"], PERSONAL, reason)
            subjects.add(row["subject_ref"])
            persons += 1
        for ref in sorted(subjects):
            left = await conn.fetchval(
                "SELECT count(*) FROM vault_persons WHERE subject_ref = $1 AND sealed IS NOT NULL",
                ref,
            )
            if left == 0:
                try:
                    await vault.erase_subject(conn, ref, "retentie (bewaartermijn verstreken)", now)
                except vault.AlreadyErasedError:
                    continue  # erased on request before: its key is gone already
                shredded += 1

        due_signals = await conn.fetch(
            f"SELECT s.signal_id, s.categorie FROM signals s {_EXPIRED}"
            " AND s.anonymised_at IS NULL FOR UPDATE OF s",
            *_terms(policy, "signal_days", now),
        )
        for row in due_signals:
            keep = _keep_for(policy, row["categorie"])
            await conn.execute(
                "UPDATE signals SET street = '', street_key = 'geanonimiseerd', anonymised_at = $2"
                " WHERE signal_id = $1",
                row["signal_id"],
                now,
            )
            reason = (
                f"bewaartermijn {row['categorie']}: melding {keep.signal_days} dagen na afhandeling"
            )
            await ledger_acts.redact(conn, key, row["signal_id"], now, reason)
            await _log(conn, now, row["signal_id"], row["categorie"], ANONYMISED, reason)
            anonymised += 1
    applied = Applied(persons, shredded, anonymised)
    if persons or anonymised:
        log.info(
            "retention applied",
            persons=persons,
            subjects_shredded=shredded,
            signals_anonymised=anonymised,
        )
    return applied


async def _log(
    conn: asyncpg.Connection,
    at: datetime,
    signal_id: object,
    categorie: str,
    action: str,
    reason: str,
) -> None:
    await conn.execute(
        "INSERT INTO retention_log (at, signal_id, categorie, action, reason)"
        " VALUES ($1, $2, $3, $4, $5)",
        at,
        signal_id,
        categorie,
        action,
        reason,
    )


class Retainer:
    """Applies the retention policy in the background, every `interval_s` seconds."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        policy: Mapping[str, Keep],
        clock: Callable[[], datetime],
        interval_s: float,
        key: LedgerKey,
    ) -> None:
        self._pool, self._policy, self._clock, self._key = pool, policy, clock, key
        self.periodic = Periodic("retention", self.run_once, interval_s)

    async def run_once(self) -> Applied:
        """One round: seal what is committed (only sealed rows can be redacted), then apply."""
        await ledger.seal_all(self._pool)
        async with self._pool.acquire() as conn:
            return await apply(conn, self._policy, self._clock(), self._key)
