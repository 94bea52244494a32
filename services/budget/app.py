"""Budget's composition root: settings → runtime → core → FastAPI app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from pydantic import SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from contracts import topics
from services.budget import reporting
from services.budget.handlers import Budget
from services.budget.settling import DeadlineSettler
from services.budget.web import api, dashboard, dashboard_forms, proposal, resident, results
from services.budget.web.ballot_box import BallotBox
from services.budget.web.guard import CodeGuard
from wijkbus.http import create_app
from wijkbus.logging import get_logger
from wijkbus.runtime import ServiceRuntime
from wijkbus.settings import ServiceSettings
from wijkbus.vault import Vault

HERE = Path(__file__).parent


class BudgetSettings(ServiceSettings):
    """Budget's settings (env prefix BUDGET_)."""

    model_config = SettingsConfigDict(env_prefix="BUDGET_", extra="ignore", populate_by_name=True)

    service_name: str = "budget"
    port: int = 8003
    allowance_cents: int = 1000
    # BUDGET_VAULT_KEY seals initiator contacts (wijkbus.vault.new_master_key); unset: throwaway.
    vault_key: SecretStr | None = None
    # BUDGET_PSEUDONYM_KEY keys household pseudonyms; unset: a key kept in the database (dev).
    pseudonym_key: SecretStr | None = None
    # Wrong or used codes per client: a burst, then this many a minute (429 with Retry-After).
    code_failures_burst: float = 10
    code_failures_per_minute: float = 10
    # How often initiatives past their deadline are settled (funded or not funded).
    settle_interval_s: float = 60.0

    @field_validator("pseudonym_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # Compose and Kubernetes pass a key they were not given as "": keep the database's key
        # (an empty HMAC key would silently give every household a guessable pseudonym).
        return None if value == "" else value


def build(
    settings: BudgetSettings,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    vault: Vault | None = None,
) -> FastAPI:
    """Build the budget app; tests may pass their own clock and vault."""
    runtime = ServiceRuntime(settings, HERE / "migrations")
    reporting.exported()
    runtime.document_events(
        topics.BUDGET_EVENTS,
        "Initiatives proposed, admitted, declined, supported, funded, not funded, withdrawn; "
        "ballots cast; rounds decided; years closed. No household, address, code or contact. "
        "Key: initiative.",
    )
    key = settings.pseudonym_key.get_secret_value().encode() if settings.pseudonym_key else None
    budget = Budget(clock=clock, vault=vault or _vault(settings), pseudonym_key=key)
    settler: list[DeadlineSettler] = []
    guard = CodeGuard.of(settings.code_failures_per_minute, settings.code_failures_burst)
    box = BallotBox(budget, guard)

    async def start() -> None:
        await box.start(settings.database_url, settings.db_schema)
        settler.append(DeadlineSettler(budget, runtime.pool, settings.settle_interval_s))
        settler[0].start()

    async def stop() -> None:
        await box.stop()
        for s in settler:
            await s.stop()

    app = create_app(
        runtime,
        title="wijkbus buurtbudget",
        service_dir=HERE,
        description="The buurtbudget: households, allowances, initiatives, pledges and votes.",
        on_start=start,
        on_stop=stop,
    )
    app.state.budget = budget
    app.state.code_guard = guard
    app.state.ballot_box = box
    app.state.templates.env.filters["euro"] = euro
    app.include_router(api.voting)  # the hottest route, matched first
    app.include_router(api.public)
    app.include_router(api.operator)
    app.include_router(resident.router)
    app.include_router(proposal.router)
    app.include_router(results.router)
    app.include_router(dashboard.router)
    app.include_router(dashboard_forms.router)
    return app


def euro(cents: int) -> str:
    """Cents as Dutch money: € 1.234,50."""
    whole = f"{abs(cents) // 100:,}".replace(",", ".")
    return f"{'-' if cents < 0 else ''}€ {whole},{abs(cents) % 100:02d}"


def _vault(settings: BudgetSettings) -> Vault:
    if settings.vault_key is not None:
        return Vault.from_setting(settings.vault_key.get_secret_value())
    get_logger(__name__).warning(
        "BUDGET_VAULT_KEY is not set: sealing initiator contacts under a throwaway key"
    )
    return Vault.ephemeral()
