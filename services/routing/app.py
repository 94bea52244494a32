"""Routing's composition root: settings → rules → runtime → consumers → FastAPI app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from fastapi import FastAPI
from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from contracts import topics
from services.routing import store
from services.routing.domain import RuleSet, RuleSetError, parse_rules
from services.routing.handlers import Routing
from services.routing.web import api, dashboard
from wijkbus import db
from wijkbus.http import create_app
from wijkbus.logging import get_logger
from wijkbus.partners import PartnerRegistry, PartnerRegistryError, load_partners
from wijkbus.runtime import ServiceRuntime
from wijkbus.settings import ServiceSettings

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


class RoutingRuntime(ServiceRuntime):
    """The kit's runtime, recording the rule set in force before any consumer starts."""

    def __init__(
        self,
        settings: ServiceSettings,
        migrations: Path,
        ruleset: RuleSet,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(settings, migrations)
        self.ruleset = ruleset
        self.clock = clock

    async def start(self) -> None:
        """Migrate and store the rule set first, so no signal is routed by unrecorded rules."""
        s = self.settings
        await db.migrate_url(s.database_url, s.db_schema, self.migrations)
        conn = await asyncpg.connect(s.database_url, server_settings={"search_path": s.db_schema})
        try:
            async with conn.transaction():
                new = await store.save_ruleset(conn, self.ruleset, self.clock())
        finally:
            await conn.close()
        log.info("rules in force", version=self.ruleset.version, new=new)
        await super().start()


def build(
    settings: RoutingSettings,
    *,
    partners: PartnerRegistry | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FastAPI:
    """Build the routing app; tests may pass their own registry and clock."""
    if partners is None:
        if settings.partners_file is None:
            raise SystemExit("routing needs a partner registry: set WIJKBUS_PARTNERS")
        try:
            partners = load_partners(settings.partners_file)
        except PartnerRegistryError as exc:
            raise SystemExit(f"routing refuses to start: {exc}") from exc
    if settings.rules_file is None:
        raise SystemExit("routing needs its rule set: set ROUTING_RULES")
    routing = Routing(ruleset=load_rules(settings.rules_file, partners), clock=clock)
    runtime = RoutingRuntime(settings, HERE / "migrations", routing.ruleset, clock)
    runtime.subscribe_events("signals", [topics.SIGNALS_ACCEPTED], routing.on_signal_event)
    runtime.subscribe_events("feedback", [topics.SIGNALS_FEEDBACK], routing.on_feedback_event)

    app = create_app(
        runtime,
        title="wijkbus routing",
        service_dir=HERE,
        description="Who responds first, by the wijkteam's rules; SLA and street counts.",
    )
    app.state.routing = routing
    app.state.clock = clock
    app.include_router(api.router)
    app.include_router(dashboard.router)
    return app
