"""Routing's composition root: settings → rules → runtime → consumers → FastAPI app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from contracts import topics
from services.routing import reporting
from services.routing.domain import RuleSet
from services.routing.escalation import Escalator
from services.routing.handlers import Routing
from services.routing.processors import processors
from services.routing.rule_parsing import RuleSetError, parse_rules
from services.routing.rulechange import ROUTING_RULES_CHANGED_TYPE, RulesChanged
from services.routing.web import (
    api,
    buurten,
    dashboard,
    links,
    live,
    readable,
    rules_api,
    trail_pages,
    wijkhub_pages,
    wijkhubs,
)
from services.routing.wijkhub.decisions import Wijkhubs
from wijkbus.http import create_app
from wijkbus.logging import get_logger
from wijkbus.partners import PartnerRegistry, PartnerRegistryError, load_partners
from wijkbus.runtime import ServiceRuntime
from wijkbus.settings import ServiceSettings
from wijkbus.vault import Vault

HERE = Path(__file__).parent
log = get_logger(__name__)


class RoutingSettings(ServiceSettings):
    """Routing's settings (env prefix ROUTING_; the rule set file is ROUTING_RULES)."""

    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore", populate_by_name=True)

    service_name: str = "routing"
    port: int = 8002
    rules_file: Path | None = Field(
        None, validation_alias=AliasChoices("ROUTING_RULES", "rules_file")
    )
    escalation_interval_s: float = Field(5.0, gt=0)
    # ROUTING_VAULT_KEY seals wijkhub contacts (wijkbus.vault.new_master_key); unset: throwaway.
    vault_key: SecretStr | None = None
    # How often the dashboard's live feed looks for something new to show.
    live_interval_s: float = Field(2.0, gt=0)
    # Intake's and notify's base URLs: a signal page shows their steps of the signal (reads of
    # its sealed person, deliveries), asked with the operator token. Unset: the page says so.
    intake_url: str | None = None
    notify_url: str | None = None

    @field_validator("intake_url", "notify_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value


def load_rules(path: Path, partners: PartnerRegistry) -> RuleSet:
    """Read the rule set file; any problem stops the service with every reason listed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SystemExit(f"routing refuses to start: cannot read rules {path}: {exc}") from exc
    try:
        return parse_rules(text, [p.id for p in partners])
    except RuleSetError as exc:
        raise SystemExit(f"routing refuses to start: {path}: {exc}") from exc


def build(
    settings: RoutingSettings,
    *,
    partners: PartnerRegistry | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    vault: Vault | None = None,
) -> FastAPI:
    """Build the routing app; tests may pass their own registry, clock and vault."""
    if partners is None:
        if settings.partners_file is None:
            raise SystemExit("routing needs a partner registry: set WIJKBUS_PARTNERS")
        try:
            partners = load_partners(settings.partners_file, with_secrets=False)
        except PartnerRegistryError as exc:
            raise SystemExit(f"routing refuses to start: {exc}") from exc
    if settings.rules_file is None:
        raise SystemExit("routing needs its rule set: set ROUTING_RULES")
    partner_ids = tuple(p.id for p in partners)
    routing = Routing(load_rules(settings.rules_file, partners), clock, partner_ids)
    hubs = Wijkhubs(vault or _vault(settings), clock, routing.ruleset.zone, partner_ids)
    runtime = ServiceRuntime(settings, HERE / "migrations", before_consume=routing.record_ruleset)
    escalator = Escalator(lambda: runtime.pool, routing, settings.escalation_interval_s)
    reporting.exported(partner_ids)
    runtime.samplers.append(
        reporting.assignment_gauges(lambda: runtime.pool, partner_ids, routing.clock)
    )
    runtime.subscribe(*processors(routing))
    runtime.document_events(
        topics.ROUTING_EVENTS,
        "Assignments, escalations, acknowledgements, resolutions (key: signal id); a new rule"
        " set in force (key: rules:<municipality>).",
        also={ROUTING_RULES_CHANGED_TYPE: RulesChanged},
    )
    runtime.document_events(
        topics.STREETS_EVENTS, "A street crossed a threshold of the rule set; key: street key."
    )
    runtime.document_events(
        topics.WIJKHUBS_EVENTS,
        "Wijkhub advice and decisions (opened, declined, extended, closed); key: street or hub.",
    )

    app = create_app(
        runtime,
        title="wijkbus routing",
        service_dir=HERE,
        description="Who responds first, by the wijkteam's rules; SLA and street counts.",
        on_start=escalator.start,
        on_stop=escalator.stop,
    )
    readable.install(app.state.templates)
    links.install(app.state.templates)
    app.state.buurten = buurten.load_names(settings.buurten_file)
    app.state.pulse = live.pulse(settings.live_interval_s)
    app.state.routing = routing
    app.state.wijkhubs = hubs
    app.state.partners = partners
    app.state.escalator = escalator
    app.state.clock = clock
    app.include_router(api.router)
    app.include_router(rules_api.router)
    app.include_router(wijkhubs.router)
    app.include_router(dashboard.router)
    app.include_router(trail_pages.router)
    app.include_router(live.router)
    app.include_router(wijkhub_pages.router)
    return app


def _vault(settings: RoutingSettings) -> Vault:
    if settings.vault_key is not None and settings.vault_key.get_secret_value():
        return Vault.from_setting(settings.vault_key.get_secret_value())
    log.warning("ROUTING_VAULT_KEY is not set: sealing wijkhub contacts under a throwaway key")
    return Vault.ephemeral()
