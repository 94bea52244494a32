"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wijkbus.networks import Network, parse_cidrs
from wijkbus.transport_security import DatabaseTls, KafkaSecurity, with_tls


def _env(name: str) -> AliasChoices:
    """Read a field from a fixed, un-prefixed environment variable (or its field name)."""
    return AliasChoices(name, name.lower())


class ServiceSettings(BaseSettings):
    """What every wijkbus service needs: where the broker and database are, and how to serve."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "wijkbus"
    host: str = "127.0.0.1"
    port: int = 8000
    # A request's whole body must arrive within this many seconds (else 408): a client that
    # drips its body must not hold a connection and a handler for as long as it likes.
    body_timeout_s: float = 10.0
    # And the request line with its headers within this many seconds of the connection (or of
    # the next request's first byte), else 408 and the connection is closed.
    header_timeout_s: float = Field(10.0, gt=0)
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS")
    )
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/postgres", validation_alias=_env("DATABASE_URL")
    )
    # TLS/SASL towards Kafka (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*) and TLS towards
    # PostgreSQL (DATABASE_SSLMODE, DATABASE_SSLROOTCERT, merged into database_url): fixed names.
    kafka_security: KafkaSecurity = Field(default_factory=KafkaSecurity)
    database_tls: DatabaseTls = Field(default_factory=DatabaseTls)
    partners_file: Path | None = Field(None, validation_alias=_env("WIJKBUS_PARTNERS"))
    # WIJKBUS_BUURTEN: a CSV with columns buurt_code and buurt_name (more columns are ignored):
    # the names operator pages show beside buurt codes. Unset: the codes alone.
    buurten_file: Path | None = Field(None, validation_alias=_env("WIJKBUS_BUURTEN"))
    # Routing's address as operators' browsers reach it: other dashboards link a signal to its
    # page there (/dashboard/signalen/ID) and a street to its street page. Unset: no links.
    routing_pages_url: str | None = Field(None, validation_alias=_env("WIJKBUS_ROUTING_PAGES"))
    # API clients and scripts: a bearer of this token acts as a beheerder (wijkbus.auth).
    operator_token: str = Field("", validation_alias=_env("WIJKBUS_OPERATOR_TOKEN"))
    # Proxies (comma-separated CIDRs, e.g. the ingress controller's pod network) whose
    # X-Forwarded-For is believed; from anyone else the connection's peer is the client.
    trusted_proxies: str = Field("", validation_alias=_env("WIJKBUS_TRUSTED_PROXIES"))
    # The named operators with their roles and password hashes (wijkbus.operators).
    operators_file: Path | None = Field(None, validation_alias=_env("WIJKBUS_OPERATORS"))
    # Operators may log in through this OpenID Connect provider (wijkbus.oidc); empty: not.
    oidc_issuer: str = Field("", validation_alias=_env("WIJKBUS_OIDC_ISSUER"))
    oidc_client_id: str = Field("", validation_alias=_env("WIJKBUS_OIDC_CLIENT_ID"))
    oidc_client_secret: str = Field("", validation_alias=_env("WIJKBUS_OIDC_CLIENT_SECRET"))
    oidc_role_claim: str = Field("wijkbus_role", validation_alias=_env("WIJKBUS_OIDC_ROLE_CLAIM"))
    # A dashboard login ends after this many seconds, or at logout.
    session_ttl_s: float = Field(8 * 3600.0, gt=0, validation_alias=_env("WIJKBUS_SESSION_TTL_S"))
    log_format: str = Field("auto", validation_alias=_env("WIJKBUS_LOG_FORMAT"))
    # INFO: one line per judged event, assignment, escalation, failed delivery; WARNING: problems.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias=_env("WIJKBUS_LOG_LEVEL")
    )
    # The producers' idempotence (wijkbus.producing): "auto" asks the broker (Kafka: on; Tansu,
    # the embedded broker, refuses it: off); "on" fails where it is refused.
    kafka_idempotence: Literal["auto", "on", "off"] = Field(
        "auto", validation_alias=_env("KAFKA_IDEMPOTENCE")
    )
    # A send the broker has not acknowledged by then fails, and the relay sends it again.
    kafka_request_timeout_ms: int = Field(30_000, gt=0)
    max_attempts: int = 5
    retry_backoff_s: float = 0.2
    relay_poll_interval_s: float = 1.0
    relay_batch_size: int = 500
    # At startup, republish the log's topics the broker holds nothing of (a new, empty broker).
    republish_lost_topics: bool = True
    # Published receipts are deleted from the log after this many days; everything else is kept.
    receipts_retention_days: float = 30.0
    receipts_retention_interval_s: float = 3600.0
    consumer_session_timeout_ms: int = 6000
    consumer_max_batch: int = 1000
    # How long the broker may hold a fetch that finds nothing new (aiokafka's default). Kafka
    # answers as soon as a record arrives; Tansu (the embedded broker) only when this runs out,
    # so on Tansu each hop waits ~130 ms (p50). Lower trades CPU for latency: at 20 ms the
    # bench's partner -> webhook p50 at 200 signals/s fell from 644 to 219 ms, but the batches
    # shrank and the machine's CPU per signal rose by 60 %, and idle consumers fetch 50 times/s.
    consumer_fetch_max_wait_ms: int = Field(500, ge=1, le=60_000)
    metadata_max_age_ms: int = 10_000
    # Consumer groups are named <group_prefix or service>.<consumer>; tests use their own prefix
    # so an app never waits for a stopped predecessor's session to expire.
    group_prefix: str = ""
    registry_reload_s: float = 5.0
    pool_max_size: int = 10
    # /readyz: a consumer group whose lag stays positive with no offset committed, or a relay
    # with rows waiting and none published, for the stall time is stuck (not ready). The
    # watchdog restarts a stuck consumer, or one whose fetch loop or coordinator died.
    consumer_stall_s: float = Field(60.0, gt=0)
    relay_stall_s: float = Field(60.0, gt=0)
    consumer_watchdog_interval_s: float = Field(5.0, gt=0)

    @model_validator(mode="after")
    def _database_url_with_tls(self) -> ServiceSettings:
        self.database_url = with_tls(self.database_url, self.database_tls)
        return self

    @field_validator("operators_file", "routing_pages_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value  # e.g. WIJKBUS_OPERATORS="": no named operators

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, text: str) -> str:
        parse_cidrs(text)
        return text

    def trusted_networks(self) -> tuple[Network, ...]:
        """The networks of WIJKBUS_TRUSTED_PROXIES (asked on every resident's request: parsed
        once per text)."""
        return _cidrs(self.trusted_proxies)

    @property
    def db_schema(self) -> str:
        """The PostgreSQL schema this service owns (named after it)."""
        return self.service_name


@functools.lru_cache(maxsize=16)
def _cidrs(text: str) -> tuple[Network, ...]:
    return parse_cidrs(text)
