"""One processor for live and replay: eventsourcing's `pull_and_process`, batch-first.

A processor is named, reads some topics, decodes each record once into its item, and hands a
partition's share of a fetched batch to one batch handler in one transaction, together with the
inbox claim of the whole share. A single record is a batch of one: there is no second write path.

When the transaction fails, the share is halved and each half tried again, down to one record,
reusing the decoded items; so a bad record never holds back the good ones around it. What becomes
of a record that fails on its own is the source's policy: live retries with backoff and then
dead-letters it with its reason; a replay counts it as refused. Sources feed the same `process`:
a consumer group (`wijkbus.consumer`), the topics from offset 0 (`wijkbus.replaying`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
from pydantic import BaseModel, ValidationError

from contracts.codec import decoder, envelope_of
from contracts.envelope import CloudEvent
from wijkbus import inbox

T = TypeVar("T")


class Skipped(Exception):
    """A record this processor does not take at all: not refused, not claimed, not handled."""


class PermanentError(Exception):
    """Input that can never be handled: dead-letter it at once, with this message as reason."""


@dataclass(frozen=True)
class Delivery:
    """One Kafka record (or a row of a service's log) as a processor sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes] = field(default_factory=dict)
    timestamp: int = 0

    @property
    def position(self) -> str:
        """`topic:partition:offset`: where the record is on this broker."""
        return f"{self.topic}:{self.partition}:{self.offset}"

    @property
    def record_id(self) -> str:
        """The record's identity: its position, producer timestamp and content.

        Position alone is not enough: after the in-memory broker restarts, offsets begin at
        zero again while the database (and its inbox) is kept.
        """
        digest = hashlib.sha256(self.value).hexdigest()[:32]
        return f"{self.position}:{self.timestamp}:{digest}"


@dataclass(frozen=True)
class Item(Generic[T]):
    """A decoded record: its inbox key, what the handler gets, and the event's time if any."""

    delivery: Delivery
    key: str
    value: T
    at: datetime | None = None


Decoder = Callable[[Delivery], Item[T]]
BatchHandler = Callable[[asyncpg.Connection, list[T]], Awaitable[None]]


@dataclass(frozen=True)
class Processor(Generic[T]):
    """A named consumer: its topics (or a pattern), its decoder and its one batch handler."""

    name: str
    topics: tuple[str, ...]
    decode: Decoder[T]
    handle: BatchHandler[T]
    pattern: str | None = None
    redact_dead_letters: bool = False
    # Runs first in each share's transaction, before the inbox claim: e.g. a lock that orders
    # the claim's moment against other writers.
    before_claim: Callable[[asyncpg.Connection], Awaitable[None]] | None = None


def events(
    name: str,
    topics: Sequence[str],
    handle: BatchHandler[Any],
    *,
    data: type[BaseModel] | None = None,
    type_: str | None = None,
    only: Collection[str] | None = None,
) -> Processor[Any]:
    """A processor of CloudEvents; the inbox key is the event's `source|id`.

    With `data`, envelope and data are validated in one pass (`Envelope[data]`); with `type_`,
    an event of another type is refused for good before it reaches the handler. With `only`,
    events of other types are skipped (a replay reading a topic for a few of its types): a
    record that does not even contain one of the type names is skipped before it is parsed.
    """
    parse = decoder(data) if data is not None else envelope_of
    names = [t.encode() for t in only] if only is not None else []

    def decode(delivery: Delivery) -> Item[CloudEvent]:
        if names and not any(name in delivery.value for name in names):
            raise Skipped(delivery.position)
        try:
            event = parse(delivery.value)
        except ValidationError as exc:
            envelope_ok = all(e["loc"][:1] == ("data",) for e in exc.errors())
            prefix = "" if envelope_ok else "not a CloudEvent: "
            raise PermanentError(prefix + reason(exc)) from exc
        if type_ is not None:
            expect_type(event, type_)
        if only is not None and event.type not in only:
            raise Skipped(delivery.position)
        return Item(delivery, inbox.event_key(event), event, event.time)

    return Processor(name, tuple(topics), decode, handle)


def raw(
    name: str,
    topics: Sequence[str],
    handle: BatchHandler[Delivery],
    *,
    pattern: str | None = None,
    redact_dead_letters: bool = False,
) -> Processor[Any]:
    """A processor of raw records; the inbox key is the record's identity (`record_id`)."""
    return Processor(name, tuple(topics), decode_raw, handle, pattern, redact_dead_letters)


def expect_type(event: CloudEvent, type_: str) -> None:
    """Refuse, for good, an event of another type than this consumer takes."""
    if event.type != type_:
        raise PermanentError(f"unexpected event type {event.type!r}; this consumer takes {type_}")


def decode_raw(delivery: Delivery) -> Item[Delivery]:
    """A record as it is, for handlers that judge the bytes themselves (partner input)."""
    return Item(delivery, delivery.record_id, delivery)


class Policy(Protocol):
    """What a source does with what the processor could not handle, and what it counts."""

    def admit(self, processor: Processor[Any], items: list[Item[Any]]) -> list[Item[Any]]:
        """The items to handle now (a replay leaves out those after `--until`)."""
        ...

    async def refuse(self, processor: Processor[Any], delivery: Delivery, why: str) -> None:
        """A record that can never be handled (undecodable, or refused for good)."""
        ...

    async def failed(self, processor: Processor[Any], item: Item[Any], exc: Exception) -> bool:
        """A record that failed on its own: True to go on, False to stop and redeliver."""
        ...

    def handled(self, processor: Processor[Any], new: int, duplicates: int) -> None:
        """A share committed: `new` items handled, `duplicates` skipped by the inbox."""
        ...


def shares(deliveries: Sequence[Delivery]) -> list[list[Delivery]]:
    """A fetched batch split per partition, each share in record order: order holds only within
    a partition, so the shares are independent of each other."""
    by_partition: dict[tuple[str, int], list[Delivery]] = {}
    for delivery in deliveries:
        by_partition.setdefault((delivery.topic, delivery.partition), []).append(delivery)
    return list(by_partition.values())


async def process(
    pool: asyncpg.Pool, processor: Processor[Any], deliveries: Sequence[Delivery], policy: Policy
) -> bool:
    """Handle one partition's records in order; True when all their offsets may be committed."""
    items: list[Item[Any]] = []
    for delivery in deliveries:
        try:
            items.append(processor.decode(delivery))
        except Skipped:
            continue
        except (PermanentError, ValueError) as exc:  # ValidationError is a ValueError
            await policy.refuse(processor, delivery, reason(exc))
    return await _handle(pool, processor, policy.admit(processor, items), policy)


async def _handle(
    pool: asyncpg.Pool, processor: Processor[Any], items: list[Item[Any]], policy: Policy
) -> bool:
    if not items:
        return True
    try:
        async with pool.acquire() as conn, conn.transaction():
            if processor.before_claim is not None:
                await processor.before_claim(conn)
            new = await claim(conn, processor.name, items)
            await processor.handle(conn, [item.value for item in new])
    except Exception as exc:
        if len(items) == 1:
            return await policy.failed(processor, items[0], exc)
        half = len(items) // 2
        # In order: when the first half must be redelivered, the second waits for it.
        return await _handle(pool, processor, items[:half], policy) and await _handle(
            pool, processor, items[half:], policy
        )
    policy.handled(processor, len(new), len(items) - len(new))
    return True


async def claim(conn: asyncpg.Connection, consumer: str, items: list[Item[T]]) -> list[Item[T]]:
    """Claim a share in the inbox at once; the new items, in order, each key once (a later copy
    in the same share is a redelivery, as it would be in a later batch)."""
    unique: dict[str, Item[T]] = {}
    for item in items:
        unique.setdefault(item.key, item)
    new = await inbox.claim_many(conn, consumer, list(unique))
    return [item for key, item in unique.items() if key in new]


def reason(exc: BaseException) -> str:
    """Why a record failed, precisely and without its content."""
    if isinstance(exc, PermanentError):
        return str(exc)[:2000]
    if isinstance(exc, ValidationError):
        return "invalid: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
    return f"{type(exc).__name__}: {exc}"[:2000]


def each(handle: Callable[[asyncpg.Connection, T], Awaitable[object]]) -> BatchHandler[T]:
    """A batch handler that takes its items in order, in the batch's one transaction.

    For consumers whose effects are per event (a delivery queued, a ballot counted) and cheap;
    the hot consumers have set-based batch handlers of their own.
    """

    async def handle_all(conn: asyncpg.Connection, values: list[T]) -> None:
        for value in values:
            await handle(conn, value)

    return handle_all
