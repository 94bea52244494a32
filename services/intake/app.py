"""Intake's composition root: settings → runtime → consumers → FastAPI app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from contracts import topics
from services.intake import ledger_acts, retention, trails
from services.intake import trail as intake_trail
from services.intake.handlers import Intake
from services.intake.processors import processors
from services.intake.retention import DEFAULT_POLICY, Keep
from services.intake.web import api, dashboard, person
from wijkbus.http import create_app
from wijkbus.logging import get_logger
from wijkbus.partners import PartnerRegistry, RegistryWatcher, load_partners
from wijkbus.periodic import Periodic
from wijkbus.ratelimit import SharedBuckets
from wijkbus.runtime import ServiceRuntime
from wijkbus.settings import ServiceSettings
from wijkbus.trail import trail_router
from wijkbus.vault import Vault

HERE = Path(__file__).parent


class IntakeSettings(ServiceSettings):
    """Intake's settings (env prefix INTAKE_)."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", populate_by_name=True)

    service_name: str = "intake"
    port: int = 8001
    rate_per_s: float = 500.0
    rate_burst: float = 5000.0
    # INTAKE_VAULT_KEY: the master key of the personal-data vault (wijkbus.vault.new_master_key).
    # Unset: a throwaway key (dev and tests); set but empty or malformed: refuse to start.
    vault_key: SecretStr | None = None
    # How often the event log's new rows get their place in the hash chain.
    seal_interval_s: float = 1.0
    # INTAKE_LEDGER_KEY: the Ed25519 key that signs redactions and checkpoints of the event log
    # (services.intake.ledger_acts.new_ledger_key); auditors verify with its public half. Unset:
    # a throwaway key per start (dev and tests); set but malformed: refuse to start.
    ledger_key: SecretStr | None = None
    # How often intake signs the chain's head (and once at shutdown): rows removed from the end
    # of the chain are evident unless they were added after the newest checkpoint.
    checkpoint_interval_s: float = 300.0
    # INTAKE_RETENTION_POLICY (JSON): per category {"personal_data_days": N, "signal_days": N}
    # after resolution; "default" covers the categories not named.
    retention_policy: dict[str, Keep] = Field(default_factory=lambda: dict(DEFAULT_POLICY))
    retention_interval_s: float = 3600.0
    # INTAKE_OBSERVED_AT_TOLERANCE_S: how far an observed_at may lie ahead of intake's clock
    # (partners' clocks drift a little); a signal observed later than that is refused.
    observed_at_tolerance_s: float = Field(default=300.0, ge=0)

    @field_validator("retention_policy")
    @classmethod
    def _has_default(cls, policy: dict[str, Keep]) -> dict[str, Keep]:
        if "default" not in policy:
            raise ValueError('the retention policy needs a "default" entry')
        return policy


def build(
    settings: IntakeSettings,
    *,
    partners: PartnerRegistry | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    vault: Vault | None = None,
) -> FastAPI:
    """Build the intake app; tests may pass their own registry, clock and vault."""
    watcher = None
    if partners is None:
        if settings.partners_file is None:
            raise SystemExit("intake needs a partner registry: set WIJKBUS_PARTNERS")
        partners = load_partners(settings.partners_file)
        watcher = RegistryWatcher(
            partners, settings.partners_file, interval_s=settings.registry_reload_s
        )
    runtime = ServiceRuntime(settings, HERE / "migrations")
    intake = Intake(
        partners=partners,
        clock=clock,
        vault=vault or _vault(settings),
        future_tolerance=timedelta(seconds=settings.observed_at_tolerance_s),
    )
    # A pattern, not a list: a partner added to the registry is consumed without a restart.
    runtime.subscribe(*processors(intake))
    runtime.document_events(
        topics.SIGNALS_ACCEPTED, "Accepted signals, street level only; key: street key."
    )
    runtime.document_events(
        topics.SIGNALS_FEEDBACK, "opgepakt / afgehandeld from the assigned partner; key: signal id."
    )
    for partner in partners:
        runtime.document_events(
            topics.partner_receipts(partner.id), "geaccepteerd / duplicaat / geweigerd per event."
        )
    background = _Background(runtime, watcher, settings, clock, _ledger_key(settings))
    app = create_app(
        runtime,
        title="wijkbus intake",
        service_dir=HERE,
        description="The partner gateway: CloudEvents in over Kafka and HTTP, receipts out.",
        on_start=background.start,
        on_stop=background.stop,
    )
    app.state.registry_watcher = watcher
    app.state.partners = partners  # who is a partner: a partner key on an operator API is 403
    app.state.background = background
    app.state.intake = intake
    app.include_router(
        api.router(SharedBuckets("partner-events", settings.rate_per_s, settings.rate_burst))
    )
    app.include_router(person.router)
    app.include_router(trail_router("intake", intake_trail.steps))
    app.include_router(dashboard.router)
    return app


class _Background:
    """Intake's own work beside the runtime's: registry reload, chain sealing and checkpoints,
    retention."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        watcher: RegistryWatcher | None,
        settings: IntakeSettings,
        clock: Callable[[], datetime],
        ledger_key: ledger_acts.LedgerKey,
    ) -> None:
        self.runtime = runtime
        self.watcher = watcher
        self.settings = settings
        self.clock = clock
        self.ledger_key = ledger_key
        self.sealer: Periodic | None = None
        self.checkpointer: ledger_acts.Checkpointer | None = None
        self.retainer: retention.Retainer | None = None

    async def start(self) -> None:
        pool = self.runtime.pool
        async with pool.acquire() as conn:  # before the sealer: v2 starts after the cut-over
            await ledger_acts.sign_cutover(conn, self.ledger_key)
        self.sealer = Periodic(
            "event-log-sealer", partial(trails.seal_all, pool), self.settings.seal_interval_s
        )
        self.checkpointer = ledger_acts.Checkpointer(
            pool, self.ledger_key, self.clock, self.settings.checkpoint_interval_s
        )
        self.retainer = retention.Retainer(
            pool,
            self.settings.retention_policy,
            self.clock,
            self.settings.retention_interval_s,
            self.ledger_key,
        )
        for task in (self.sealer, self.checkpointer.periodic, self.retainer.periodic):
            task.start()
        if self.watcher is not None:
            self.watcher.start()

    async def stop(self) -> None:
        if self.watcher is not None:
            await self.watcher.stop()
        if self.retainer is not None:
            await self.retainer.periodic.stop()
        if self.sealer is not None:
            await self.sealer.stop()
        if self.checkpointer is not None:
            await self.checkpointer.periodic.stop()
            try:  # the final head, so a clean stop leaves nothing unvouched
                await trails.seal_all(self.runtime.pool)
                await self.checkpointer.run_once("shutdown")
            except Exception as exc:  # the stop goes on; verify will name the stale checkpoint
                get_logger(__name__).error("no final checkpoint of the event log", error=repr(exc))


def _ledger_key(settings: IntakeSettings) -> ledger_acts.LedgerKey:
    if settings.ledger_key is not None:
        return ledger_acts.LedgerKey.from_setting(settings.ledger_key.get_secret_value())
    get_logger(__name__).warning(
        "INTAKE_LEDGER_KEY is not set: signing the event log's acts under a throwaway key"
    )
    return ledger_acts.LedgerKey.ephemeral()


def _vault(settings: IntakeSettings) -> Vault:
    if settings.vault_key is not None:
        return Vault.from_setting(settings.vault_key.get_secret_value())
    # Fails safe, not open: without a configured key sealed persons die with the process.
    get_logger(__name__).warning(
        "INTAKE_VAULT_KEY is not set: sealing personal data under a throwaway key"
    )
    return Vault.ephemeral()
