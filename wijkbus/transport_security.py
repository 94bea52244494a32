"""TLS and SASL for the connections to Kafka and PostgreSQL, one set of options for every client.

Kafka: `KAFKA_SECURITY_PROTOCOL` (PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL),
`KAFKA_SASL_MECHANISM` (SCRAM-SHA-512 | SCRAM-SHA-256 | PLAIN), `KAFKA_SASL_USERNAME`,
`KAFKA_SASL_PASSWORD`, `KAFKA_SSL_CAFILE` (and `KAFKA_SSL_CERTFILE`/`KAFKA_SSL_KEYFILE` for mutual
TLS). Every aiokafka client takes `client_options()`; faststream's broker takes `broker_security()`,
which faststream turns into the very same options.

PostgreSQL: `DATABASE_SSLMODE` (disable | prefer | require | verify-ca | verify-full) and
`DATABASE_SSLROOTCERT` are written into the DSN (`with_tls`), where asyncpg reads them, so every
connection made from the URL gets them; a DATABASE_URL that carries its own `sslmode` keeps it.
"""

from __future__ import annotations

import ssl
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Protocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
Mechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
_SASL = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class KafkaSecurity(BaseSettings):
    """How the clients authenticate to and encrypt towards the Kafka brokers."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    security_protocol: Protocol = Field(
        "PLAINTEXT", validation_alias=_env("KAFKA_SECURITY_PROTOCOL")
    )
    sasl_mechanism: Mechanism = Field(
        "SCRAM-SHA-512", validation_alias=_env("KAFKA_SASL_MECHANISM")
    )
    sasl_username: str = Field("", validation_alias=_env("KAFKA_SASL_USERNAME"))
    sasl_password: SecretStr = Field(SecretStr(""), validation_alias=_env("KAFKA_SASL_PASSWORD"))
    ssl_cafile: str = Field("", validation_alias=_env("KAFKA_SSL_CAFILE"))
    ssl_certfile: str = Field("", validation_alias=_env("KAFKA_SSL_CERTFILE"))
    ssl_keyfile: str = Field("", validation_alias=_env("KAFKA_SSL_KEYFILE"))

    @model_validator(mode="after")
    def _complete(self) -> KafkaSecurity:
        if self.sasl and not (self.sasl_username and self.sasl_password.get_secret_value()):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise ValueError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together")
        return self

    @property
    def sasl(self) -> bool:
        """Whether the clients authenticate with SASL."""
        return self.security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        """Whether the connections are encrypted."""
        return self.security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The verifying TLS context (system CAs, or KAFKA_SSL_CAFILE), None without TLS."""
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ssl_cafile or None)
        if self.ssl_certfile:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return context


def broker_security(security: KafkaSecurity) -> BaseSecurity | None:
    """The faststream security object for KafkaBroker (None: plaintext, no SASL)."""
    context = security.ssl_context()
    if security.sasl:
        password = security.sasl_password.get_secret_value()
        sasl = _SASL[security.sasl_mechanism]
        return sasl(security.sasl_username, password, ssl_context=context, use_ssl=security.tls)
    return BaseSecurity(ssl_context=context, use_ssl=True) if security.tls else None


def client_options(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """Keyword arguments for AIOKafkaProducer/Consumer/AdminClient; without `security`, the
    options from the environment (as the CLI tools take KAFKA_BOOTSTRAP_SERVERS from it)."""
    security = KafkaSecurity() if security is None else security
    if security.security_protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {
        "security_protocol": security.security_protocol,
        "ssl_context": security.ssl_context(),
    }
    if security.sasl:
        options |= {
            "sasl_mechanism": security.sasl_mechanism,
            "sasl_plain_username": security.sasl_username,
            "sasl_plain_password": security.sasl_password.get_secret_value(),
        }
    return options


class DatabaseTls(BaseSettings):
    """How the PostgreSQL connections are encrypted and the server verified."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    sslmode: SslMode | None = Field(None, validation_alias=_env("DATABASE_SSLMODE"))
    sslrootcert: str = Field("", validation_alias=_env("DATABASE_SSLROOTCERT"))


def with_tls(database_url: str, tls: DatabaseTls) -> str:
    """The DSN with `sslmode`/`sslrootcert` added as asyncpg reads them; the URL's own win."""
    parts = urlsplit(database_url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if tls.sslmode and "sslmode" not in query:
        query["sslmode"] = tls.sslmode
    if tls.sslrootcert and "sslrootcert" not in query:
        query["sslrootcert"] = tls.sslrootcert
    return urlunsplit(parts._replace(query=urlencode(query)))
