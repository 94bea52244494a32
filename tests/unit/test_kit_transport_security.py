"""TLS/SASL options for Kafka and sslmode for PostgreSQL are built once and reach every client.

No TLS broker here: these tests check the options the clients are given, not a handshake.
"""

from __future__ import annotations

import ast
import os
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faststream.kafka.security import parse_security
from pydantic import ValidationError

from tools import cli
from wijkbus.settings import ServiceSettings
from wijkbus.transport_security import (
    DatabaseTls,
    KafkaSecurity,
    broker_security,
    client_options,
    with_tls,
)


def ca_file(tmp_path: Path, name: str) -> Path:
    """A self-signed CA certificate in PEM, with common name `name`."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def scram_over_tls(cafile: Path) -> KafkaSecurity:
    return KafkaSecurity(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="intake",
        sasl_password="s3cret",  # type: ignore[arg-type]
        ssl_cafile=str(cafile),
    )


def test_plaintext_gives_the_clients_no_options_at_all() -> None:
    plain = KafkaSecurity(security_protocol="PLAINTEXT")
    assert client_options(plain) == {}
    assert broker_security(plain) is None


def test_scram_over_tls_gives_credentials_and_a_context_that_verifies_with_the_ca(
    tmp_path: Path,
) -> None:
    options = client_options(scram_over_tls(ca_file(tmp_path, "wijkbus-test-ca")))
    context = options.pop("ssl_context")
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "intake",
        "sasl_plain_password": "s3cret",
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    subjects = [dict(x[0] for x in c["subject"]) for c in context.get_ca_certs()]
    assert {"commonName": "wijkbus-test-ca"} in subjects


@pytest.mark.parametrize(
    ("protocol", "mechanism"),
    [
        ("SASL_SSL", "SCRAM-SHA-512"),
        ("SASL_SSL", "SCRAM-SHA-256"),
        ("SASL_PLAINTEXT", "SCRAM-SHA-512"),
        ("SASL_SSL", "PLAIN"),
        ("SSL", "SCRAM-SHA-512"),
    ],
)
def test_faststreams_broker_gets_the_same_options_as_the_direct_clients(
    tmp_path: Path, protocol: str, mechanism: str
) -> None:
    security = KafkaSecurity(
        security_protocol=protocol,  # type: ignore[arg-type]
        sasl_mechanism=mechanism,  # type: ignore[arg-type]
        sasl_username="routing",
        sasl_password="pw",  # type: ignore[arg-type]
        ssl_cafile=str(ca_file(tmp_path, "ca")),
    )
    direct, broker = client_options(security), parse_security(broker_security(security))
    assert isinstance(direct.pop("ssl_context"), ssl.SSLContext) == (protocol != "SASL_PLAINTEXT")
    assert isinstance(broker.pop("ssl_context"), ssl.SSLContext) == (protocol != "SASL_PLAINTEXT")
    assert broker == direct


def test_sasl_without_credentials_refuses_to_start() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        KafkaSecurity(security_protocol="SASL_SSL", sasl_username="intake")


def test_an_unknown_protocol_is_refused() -> None:
    with pytest.raises(ValidationError):
        KafkaSecurity(security_protocol="TLS")  # type: ignore[arg-type]


def test_options_come_from_the_environment_when_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "budget")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "from-env")
    options = client_options()
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert options["sasl_plain_password"] == "from-env"
    assert ServiceSettings().kafka_security.sasl_username == "budget"


async def test_aiokafka_clients_accept_the_options(tmp_path: Path) -> None:
    options = client_options(scram_over_tls(ca_file(tmp_path, "ca")))
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", **options)
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1", **options)
    for client in (producer.client, consumer._client):
        assert client._security_protocol == "SASL_SSL"
        assert client._sasl_mechanism == "SCRAM-SHA-512"
        assert client._ssl_context is options["ssl_context"]
    await consumer.stop()


def test_sslmode_and_ca_are_written_into_the_database_url() -> None:
    tls = DatabaseTls(sslmode="verify-full", sslrootcert="/etc/wijkbus/pg-ca.pem")
    url = with_tls("postgresql://wijkbus:pw@db:5432/wijkbus", tls)
    assert url == (
        "postgresql://wijkbus:pw@db:5432/wijkbus"
        "?sslmode=verify-full&sslrootcert=%2Fetc%2Fwijkbus%2Fpg-ca.pem"
    )


def test_a_database_url_that_carries_its_own_sslmode_keeps_it() -> None:
    url = with_tls("postgresql://db/wijkbus?sslmode=require", DatabaseTls(sslmode="disable"))
    assert url == "postgresql://db/wijkbus?sslmode=require"


def test_without_sslmode_the_database_url_is_left_as_it_was() -> None:
    assert with_tls("postgresql://db/wijkbus", DatabaseTls()) == "postgresql://db/wijkbus"


def test_service_settings_carry_the_sslmode_in_their_database_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://wijkbus@db/wijkbus")
    monkeypatch.setenv("DATABASE_SSLMODE", "verify-full")
    assert ServiceSettings().database_url == "postgresql://wijkbus@db/wijkbus?sslmode=verify-full"


def test_the_cli_gives_its_commands_the_sslmode_in_database_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://wijkbus@db/wijkbus")
    monkeypatch.setenv("DATABASE_SSLMODE", "require")
    cli._database_tls_into_url()
    assert os.environ["DATABASE_URL"] == "postgresql://wijkbus@db/wijkbus?sslmode=require"


CLIENTS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient", "KafkaBroker"}


def kafka_clients_made() -> list[tuple[str, ast.Call]]:
    """Every place the services and tools make a Kafka client: (where, the call). bench/ is left
    out: it measures against the embedded, plaintext broker it starts itself."""
    repo = Path(__file__).resolve().parents[2]
    calls = []
    for folder in ("contracts", "services", "wijkbus", "tools"):
        for path in sorted((repo / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                func = node.func if isinstance(node, ast.Call) else None
                name = getattr(func, "id", None) or getattr(func, "attr", None)
                if isinstance(node, ast.Call) and name in CLIENTS:
                    calls.append((f"{path.relative_to(repo)}:{node.lineno}", node))
    return calls


def test_every_kafka_client_gets_the_security_options() -> None:
    made = kafka_clients_made()
    assert len(made) >= 6
    for where, call in made:
        spread = [k.value for k in call.keywords if k.arg is None]
        named = {k.arg for k in call.keywords}
        passes = "security" in named or any(
            isinstance(v, ast.Call) and getattr(v.func, "id", "") == "client_options"
            for v in spread
        )
        assert passes, f"{where}: a Kafka client without **client_options(...) or security="
