"""Budget's composition root: settings → runtime → FastAPI app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic_settings import SettingsConfigDict

from services.budget.web import dashboard
from wijkbus.http import create_app
from wijkbus.runtime import ServiceRuntime
from wijkbus.settings import ServiceSettings

HERE = Path(__file__).parent


class BudgetSettings(ServiceSettings):
    """Budget's settings (env prefix BUDGET_)."""

    model_config = SettingsConfigDict(env_prefix="BUDGET_", extra="ignore", populate_by_name=True)

    service_name: str = "budget"
    port: int = 8003
    allowance_cents: int = 1000


def build(settings: BudgetSettings) -> FastAPI:
    """Build the budget app (its features arrive with issue 5)."""
    runtime = ServiceRuntime(settings, HERE / "migrations")
    app = create_app(
        runtime,
        title="wijkbus buurtbudget",
        service_dir=HERE,
        description="The buurtbudget: households, allowances, initiatives, pledges and votes.",
    )
    app.include_router(dashboard.router)
    return app
