"""Notify's composition root: settings → runtime → consumer, delivery worker → FastAPI app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from contracts import topics
from services.notify import trail as notify_trail
from services.notify.attempts import Attempts
from services.notify.broadcast import FeedBroadcaster
from services.notify.crypto import SecretBox
from services.notify.domain import RetryPolicy
from services.notify.handlers import Fanout
from services.notify.hosts import HostClients
from services.notify.initiators import InitiatorContacts
from services.notify.mail import MailRenderer, MailSender
from services.notify.notificaties import api as notificaties_api
from services.notify.notificaties import kanalen
from services.notify.notificaties.abonnementen import Abonnementen
from services.notify.processors import processors
from services.notify.retention import Retention
from services.notify.subscriptions import Subscriptions
from services.notify.targets import AddressPolicy
from services.notify.web import api, dashboard, deliveries, live
from services.notify.webhook import WebhookSender
from services.notify.worker import DeliveryWorker
from wijkbus.http import create_app
from wijkbus.networks import parse_cidrs
from wijkbus.partners import PartnerRegistry, load_partners
from wijkbus.runtime import ServiceRuntime
from wijkbus.settings import ServiceSettings
from wijkbus.trail import trail_router

HERE = Path(__file__).parent


OPTIONAL = (
    "smtp_username",
    "smtp_password",
    "budget_url",
    "budget_token",
    "intake_url",
    "routing_url",
)


class NotifySettings(ServiceSettings):
    """Notify's settings (env prefix NOTIFY_; the encryption key is NOTIFY_SECRET_KEY)."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore", populate_by_name=True)

    service_name: str = "notify"
    port: int = 8004
    secret_key: SecretStr = SecretStr("")
    webhook_timeout_s: float = 10.0
    # Networks webhooks may reach although they are not public (comma-separated CIDRs, e.g.
    # "127.0.0.0/8,::1/128" in the dev stack). Empty: public addresses only.
    allow_cidrs: str = ""
    backoff_factor_s: float = 1.0
    backoff_base: float = 2.0
    backoff_cap_s: float = 300.0
    delivery_max_attempts: int = 8
    retry_after_cap_s: float = 3600.0
    # Sends (deliveries or batches) one instance has in flight at once, over all subscriptions;
    # each subscription's own bound is its max_in_flight.
    delivery_concurrency: int = Field(default=64, ge=1)
    # Sends one instance may claim ahead per subscription, queued until its bound lets them go
    # (only while no other instance holds that subscription's leases: services.notify.claims).
    delivery_claim_ahead: int = Field(default=56, ge=0)
    delivery_pool_size: int = Field(default=8, ge=1)  # connections for claiming and recording
    delivery_poll_interval_s: float = 1.0
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_sender: str = "wijkbus <noreply@wijkbus.local>"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = 10.0
    attempt_retention_days: int = Field(default=30, ge=1)
    retention_interval_s: float = 3600.0
    # Where the initiator channel asks for an initiator's sealed contact: budget's base URL and
    # a token its operator API accepts. Unset: initiator deliveries wait and then go dead.
    budget_url: str | None = None
    budget_token: SecretStr | None = None
    # The services' public addresses, for the Notificaties API's hoofdObject and resourceUrl.
    intake_url: str | None = None
    routing_url: str | None = None
    feed_heartbeat_s: float = 15.0  # a keep-alive comment when no event came for this long
    feed_keep_hours: int = Field(default=24, ge=1)  # how far back a reconnecting feed resumes
    event_topics: tuple[str, ...] = (
        topics.SIGNALS_ACCEPTED,  # for the signalen kanaal and subscriptions naming intake's types
        topics.SIGNALS_FEEDBACK,
        topics.ROUTING_EVENTS,
        topics.STREETS_EVENTS,
        topics.WIJKHUBS_EVENTS,
        topics.BUDGET_EVENTS,
    )

    @field_validator(*OPTIONAL, mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # Compose and Kubernetes pass an optional secret or address they were not given as "".
        return None if value == "" else value

    def resource_urls(self) -> kanalen.Urls:
        """Where a `notificatie`'s hoofdObject and resourceUrl point (unset: `.invalid`)."""
        unset = kanalen.UNCONFIGURED
        return kanalen.Urls(
            (self.intake_url or unset.intake).rstrip("/"),
            (self.routing_url or unset.routing).rstrip("/"),
            (self.budget_url or unset.budget).rstrip("/"),
        )

    def mail_sender(self) -> MailSender:
        """The SMTP client for e-mail subscriptions."""
        return MailSender(
            host=self.smtp_host,
            port=self.smtp_port,
            sender=self.smtp_sender,
            starttls=self.smtp_starttls,
            username=self.smtp_username,
            password=self.smtp_password.get_secret_value() if self.smtp_password else None,
            timeout_s=self.smtp_timeout_s,
        )

    def address_policy(self) -> AddressPolicy:
        """Where webhooks may go: public addresses and the networks in NOTIFY_ALLOW_CIDRS."""
        return AddressPolicy(parse_cidrs(self.allow_cidrs))

    def retry_policy(self) -> RetryPolicy:
        """The backoff and give-up rules for webhook deliveries."""
        return RetryPolicy(
            factor_s=self.backoff_factor_s,
            base=self.backoff_base,
            cap_s=self.backoff_cap_s,
            max_attempts=self.delivery_max_attempts,
            retry_after_cap_s=self.retry_after_cap_s,
        )


def build(
    settings: NotifySettings,
    *,
    partners: PartnerRegistry | None = None,
    http_client: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FastAPI:
    """Build the notify app; tests may pass their own registry, HTTP client and clock."""
    if partners is None:
        if settings.partners_file is None:
            raise SystemExit("notify needs a partner registry: set WIJKBUS_PARTNERS")
        partners = load_partners(settings.partners_file, with_secrets=False)
    if not settings.secret_key.get_secret_value():
        raise SystemExit("notify needs NOTIFY_SECRET_KEY to encrypt subscriber tokens")
    box = SecretBox(settings.secret_key.get_secret_value())
    # Redirects are not followed: a webhook answer is the subscriber's, not another host's.
    client = http_client or httpx.AsyncClient(follow_redirects=False)
    # A client of the test's own carries every webhook; else a keep-alive client per host.
    hosts = None if http_client else HostClients()
    sender = WebhookSender(
        client, settings.webhook_timeout_s, settings.address_policy(), clock=clock, clients=hosts
    )
    runtime = ServiceRuntime(settings, HERE / "migrations")
    runtime.subscribe(
        *processors(Fanout(clock, settings.resource_urls()).on_events, settings.event_topics)
    )
    attempts = Attempts(
        box=box,
        sender=sender,
        mailer=settings.mail_sender(),
        renderer=MailRenderer(),
        contacts=InitiatorContacts(
            client,
            settings.budget_url,
            settings.budget_token.get_secret_value() if settings.budget_token else None,
        ),
        policy=settings.retry_policy(),
        clock=clock,
    )
    # A claimed send is another instance's to take over only once its own would have ended.
    slowest = max(settings.webhook_timeout_s, settings.smtp_timeout_s)
    worker = DeliveryWorker(
        database_url=settings.database_url,
        schema=settings.db_schema,
        attempts=attempts,
        lease=timedelta(seconds=2 * slowest + 30),
        concurrency=settings.delivery_concurrency,
        ahead=settings.delivery_claim_ahead,
        poll_interval_s=settings.delivery_poll_interval_s,
        pool_size=settings.delivery_pool_size,
    )

    feed = FeedBroadcaster(settings.database_url, settings.db_schema, lambda: runtime.pool)
    retention = Retention(
        lambda: runtime.pool,
        days=settings.attempt_retention_days,
        feed_hours=settings.feed_keep_hours,
        interval_s=settings.retention_interval_s,
        clock=clock,
    )

    async def on_start() -> None:
        await feed.start()
        await worker.start()
        await retention.start()

    async def on_stop() -> None:
        await retention.stop()
        await worker.stop(grace_s=min(settings.webhook_timeout_s, 5.0))
        await feed.stop()
        if http_client is None:
            await client.aclose()
        if hosts is not None:
            await hosts.aclose()

    app = create_app(
        runtime,
        title="wijkbus notify",
        service_dir=HERE,
        description="Subscriptions: CloudEvents webhooks to partner back-offices, Dutch e-mail,"
        " live feeds (server-sent events) and dead-delivery retries.",
        on_start=on_start,
        on_stop=on_stop,
    )
    app.state.partners = partners
    app.state.clock = clock
    app.state.worker = worker
    app.state.feed = feed
    app.state.retention = retention
    app.state.subscriptions = Subscriptions(box=box, sender=sender, partners=partners, clock=clock)
    app.state.abonnementen = Abonnementen(box=box, sender=sender, clock=clock)
    app.include_router(api.router)
    app.include_router(trail_router("notify", notify_trail.steps))
    app.include_router(notificaties_api.router)
    app.include_router(dashboard.router)
    app.include_router(deliveries.router)
    app.include_router(live.router)
    return app
