"""The one way a service builds its Kafka producer: settings that never lose an acknowledged send.

`acks="all"`: the broker acknowledges a record only once every in-sync replica has it (with the
topic's `min.insync.replicas` >= 2 on a real cluster, one broker's loss cannot take it). A send
that is not acknowledged within `request_timeout_ms` fails (aiokafka retries retriable errors
until then, `retry_backoff_ms` apart), and the relay then leaves the row above its position, to
be sent again. The idempotent producer (no duplicates or reordering from those retries) is on
where the broker supports it: Kafka does; Tansu, the embedded broker, answers InitProducerId with
an error, so "auto" asks the broker once at start and falls back, saying so in the log.
"""

from __future__ import annotations

from typing import Literal

from aiokafka import AIOKafkaProducer
from aiokafka.protocol.transaction import InitProducerIdRequest

from wijkbus.logging import get_logger
from wijkbus.transport_security import KafkaSecurity, client_options

log = get_logger(__name__)

Idempotence = Literal["auto", "on", "off"]


async def start_producer(
    bootstrap: str,
    *,
    idempotence: Idempotence = "auto",
    request_timeout_ms: int = 30_000,
    retry_backoff_ms: int = 200,
    linger_ms: int = 2,
    security: KafkaSecurity | None = None,
) -> AIOKafkaProducer:
    """A started producer with `acks="all"` and, unless refused, idempotence (TLS/SASL:
    `security`, else the environment's)."""

    def build(idempotent: bool) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=idempotent,
            request_timeout_ms=request_timeout_ms,
            retry_backoff_ms=retry_backoff_ms,
            linger_ms=linger_ms,
            **client_options(security),
        )

    producer = build(idempotence == "on")
    await producer.start()
    if idempotence != "auto":
        return producer
    if not await supports_idempotence(producer):
        log.warning(
            "the broker refuses idempotent producers: sending without (the inbox de-duplicates)",
            bootstrap=bootstrap,
        )
        return producer
    await producer.stop()
    producer = build(True)
    await producer.start()
    return producer


async def supports_idempotence(producer: AIOKafkaProducer) -> bool:
    """Whether the broker hands out producer ids (InitProducerId answers without an error)."""
    client = producer.client
    node = client.get_random_node()
    answer = await client.send(node, InitProducerIdRequest(None, 60_000))  # type: ignore[arg-type]
    return bool(answer.error_code == 0)
