"""Intake's composition root: settings → runtime → consumers → FastAPI app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from pydantic_settings import SettingsConfigDict

from contracts import topics
from services.intake.handlers import Intake
from services.intake.web import api, dashboard
from wijkbus.http import create_app
from wijkbus.partners import PartnerRegistry, load_partners
from wijkbus.ratelimit import TokenBuckets
from wijkbus.runtime import ServiceRuntime
from wijkbus.settings import ServiceSettings

HERE = Path(__file__).parent


class IntakeSettings(ServiceSettings):
    """Intake's settings (env prefix INTAKE_)."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", populate_by_name=True)

    service_name: str = "intake"
    port: int = 8001
    rate_per_s: float = 500.0
    rate_burst: float = 5000.0


def build(
    settings: IntakeSettings,
    *,
    partners: PartnerRegistry | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FastAPI:
    """Build the intake app; tests may pass their own registry and clock."""
    if partners is None:
        if settings.partners_file is None:
            raise SystemExit("intake needs a partner registry: set WIJKBUS_PARTNERS")
        partners = load_partners(settings.partners_file)
    runtime = ServiceRuntime(settings, HERE / "migrations")
    intake = Intake(partners=partners, clock=clock)
    runtime.subscribe_raw(
        "partner-events", [topics.partner_events(p.id) for p in partners], intake.on_partner_record
    )
    runtime.subscribe_events("assignments", [topics.ROUTING_EVENTS], intake.on_routing_event)
    app = create_app(
        runtime,
        title="wijkbus intake",
        service_dir=HERE,
        description="The partner gateway: CloudEvents in over Kafka and HTTP, receipts out.",
    )
    app.state.intake = intake
    app.include_router(api.router(TokenBuckets(settings.rate_per_s, settings.rate_burst)))
    app.include_router(dashboard.router)
    return app
