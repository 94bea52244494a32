"""The partner registry (CONTRACT.md): who may send what, and how they prove who they are."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.signals import Categorie
from wijkbus.logging import get_logger
from wijkbus.registry_files import read_entries

log = get_logger(__name__)

Role = Literal["gemeente", "politie", "woningcorporatie", "welzijn", "handhaving"]


class PartnerRegistryError(ValueError):
    """The registry file cannot be used; the message says where and why."""


class Partner(BaseModel):
    """One partner organisation's back-office, as registered."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9-]+$", max_length=63)
    name: str = Field(min_length=1)
    role: Role
    source: str = Field(min_length=1)
    may_send: tuple[Categorie, ...] = ()
    may_read_personal_data: bool = False
    api_key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    signing_secret_env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")


class PartnerRegistry:
    """The registered partners with their signing secrets, looked up by id or API key."""

    def __init__(self, partners: list[Partner], secrets: Mapping[str, bytes]) -> None:
        self.partners = {p.id: p for p in partners}
        self._secrets = dict(secrets)
        self._by_key_hash = {p.api_key_sha256: p for p in partners}

    def replace_with(self, other: PartnerRegistry) -> None:
        """Take over another registry's partners in place, so every holder sees the new set."""
        self.partners, self._secrets, self._by_key_hash = (
            other.partners,
            other._secrets,
            other._by_key_hash,
        )

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.partners.values())

    def get(self, partner_id: str) -> Partner | None:
        """The partner with this id, if registered."""
        return self.partners.get(partner_id)

    def by_api_key(self, api_key: str) -> Partner | None:
        """The partner that holds this API key, if any."""
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        for known, partner in self._by_key_hash.items():
            if hmac.compare_digest(known, digest):
                return partner
        return None

    def signing_secret(self, partner_id: str) -> bytes:
        """The partner's HMAC key for signed Kafka events."""
        return self._secrets[partner_id]


def api_key_hash(api_key: str) -> str:
    """The sha256 hex of an API key, as stored in the registry."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def sign(secret: bytes, body: bytes) -> str:
    """The `wijkbus-signature` header value for a body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` is the right signature of `body`."""
    # As bytes: compare_digest refuses a str with non-ASCII characters (a forged header may
    # carry any), which would be a crash instead of "not signed".
    presented = header.strip().encode(errors="surrogatepass") if header is not None else None
    return presented is not None and hmac.compare_digest(sign(secret, body).encode(), presented)


def load_partners(
    path: Path, env: Mapping[str, str] | None = None, *, with_secrets: bool = True
) -> PartnerRegistry:
    """Read and check the registry file; any problem stops the service with a clear message.

    Only intake verifies signatures; other services pass `with_secrets=False` and never see them.
    """
    env = os.environ if env is None else env
    partners, problems = read_entries(path, Partner, "partner", PartnerRegistryError, _entry_id)
    for attr in ("id", "source", "api_key_sha256"):
        seen: set[str] = set()
        for p in partners:
            if getattr(p, attr) in seen:
                problems.append(f"partner {p.id}: duplicate {attr}")
            seen.add(getattr(p, attr))
    secrets: dict[str, bytes] = {}
    for p in partners if with_secrets else []:
        secret = env.get(p.signing_secret_env, "")
        if not secret:
            problems.append(
                f"partner {p.id}: environment variable {p.signing_secret_env} is not set"
            )
        secrets[p.id] = secret.encode()
    if problems:
        raise PartnerRegistryError(f"{path}: " + "; ".join(problems))
    return PartnerRegistry(partners, secrets)


def _entry_id(entry: object) -> str:
    return f" ({entry.get('id', '?') if isinstance(entry, dict) else '?'})"


class RegistryWatcher:
    """Reloads the registry file when it changes; a broken new file keeps the old registry."""

    def __init__(
        self,
        registry: PartnerRegistry,
        path: Path,
        *,
        with_secrets: bool = True,
        interval_s: float = 5.0,
    ) -> None:
        self.registry, self.path = registry, path
        self._with_secrets, self._interval = with_secrets, interval_s
        self._mtime = self._stat()
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None

    def _stat(self) -> float | None:
        try:
            return self.path.stat().st_mtime
        except OSError:
            return None

    def reload(self) -> bool:
        """Read the file again now; True when the registry changed, False when it was refused."""
        try:
            fresh = load_partners(self.path, with_secrets=self._with_secrets)
        except PartnerRegistryError as exc:
            self.last_error = str(exc)
            log.error("partner registry reload refused; the old registry stays", reason=str(exc))
            return False
        before = set(self.registry.partners)
        self.registry.replace_with(fresh)
        self.last_error = None
        log.info(
            "partner registry reloaded",
            added=sorted(set(fresh.partners) - before),
            removed=sorted(before - set(fresh.partners)),
        )
        return True

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if (mtime := self._stat()) != self._mtime:
                self._mtime = mtime
                self.reload()

    def start(self) -> None:
        """Poll the file's modification time in the background."""
        self._task = asyncio.create_task(self._watch(), name="partner-registry-watcher")

    async def stop(self) -> None:
        """Stop polling."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
