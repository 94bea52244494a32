"""The codec on signals.accepted records: decode and encode µs/record, before and after, beside
the raw ceiling `json.loads(raw)` / `json.dumps(dict)` of the same records in the same run.

Pure CPU, no broker or database: `backend` is not used. Each figure is the best of a few rounds
over the same records.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from bench.routing_rebuild import accepted_signals
from contracts.codec import decoder, encode
from contracts.envelope import CloudEvent, new_event, parse_event, to_json_bytes
from contracts.events import SIGNAL_ACCEPTED_TYPE, SignalAccepted
from wijkbus.infra import Backend

ROUNDS = 7


def best_us(works: Sequence[tuple[Callable[[Any], object], Sequence[Any]]]) -> list[float]:
    """Each (work, items)'s best round in µs per item; rounds alternate between the works, so a
    neighbour's burst of CPU on this shared machine does not count against one path only."""
    best = [float("inf")] * len(works)
    for _ in range(ROUNDS):
        for n, (work, items) in enumerate(works):
            started = time.perf_counter()
            for item in items:
                work(item)
            best[n] = min(best[n], (time.perf_counter() - started) / len(items))
    return [b * 1e6 for b in best]


def decode_before(raw: bytes) -> SignalAccepted:
    """Today's path: the envelope, then its data a second time."""
    return SignalAccepted.model_validate(parse_event(raw).data)


def decode_after(raw: bytes) -> SignalAccepted:
    """The codec: envelope and typed data in one pass."""
    return decoder(SignalAccepted)(raw).data


def new_event_of(signal: SignalAccepted) -> CloudEvent:
    """The signal as a validated CloudEvent, as the builders before the codec made it."""
    return new_event(
        SIGNAL_ACCEPTED_TYPE, "urn:nld:wijkbus:intake", signal, id=signal.signal_id,
        subject=signal.signal_id, time=signal.received_at,
    )  # fmt: skip


def encode_before(signal: SignalAccepted) -> bytes:
    """The path before the codec: new_event, model_dump, then json.dumps (to_json_bytes then)."""
    event = new_event_of(signal)
    body = {k: v for k, v in event.model_dump(mode="json").items() if v is not None}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode_builders(signal: SignalAccepted) -> bytes:
    """Today's builders kept for CloudEvents: new_event, then the thin to_json_bytes."""
    return to_json_bytes(new_event_of(signal))


def encode_after(signal: SignalAccepted) -> bytes:
    """The codec: the data model's own serialiser spliced into the envelope."""
    return encode(
        SIGNAL_ACCEPTED_TYPE, "urn:nld:wijkbus:intake", signal, id=signal.signal_id,
        subject=signal.signal_id, time=signal.received_at,
    )  # fmt: skip


def dumps(body: dict[str, Any]) -> bytes:
    """The raw ceiling of encoding: a ready dict of JSON values to compact bytes."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


async def main(backend: Backend, quick: bool) -> list[str]:
    """Time decode and encode before and after, beside json.loads / json.dumps."""
    count = 2_000 if quick else 20_000
    raws = [value for _, value in accepted_signals(count, datetime.now(UTC))]
    signals = [decode_after(raw) for raw in raws]
    for signal in signals[:100]:
        assert encode_after(signal) == encode_before(signal) == encode_builders(signal)
    bodies = [json.loads(raw) for raw in raws]
    loads, before, after = best_us(
        [(json.loads, raws), (decode_before, raws), (decode_after, raws)]
    )
    ceiling, old, builders, new = best_us(
        [
            (dumps, bodies),
            (encode_before, signals),
            (encode_builders, signals),
            (encode_after, signals),
        ]
    )
    return [
        f"codec: {count:,} signals.accepted records ({len(raws[0])} bytes each), µs/record",
        f"  decode before {before:>7.2f}  (parse_event, then SignalAccepted.model_validate)",
        f"  decode after  {after:>7.2f}  ({before / after:.1f}× faster; ceiling ratio"
        f" {loads / after:.2f})",
        f"  json.loads    {loads:>7.2f}  (raw ceiling: no validation, no models)",
        f"  encode before {old:>7.2f}  (new_event, model_dump, json.dumps: to_json_bytes before)",
        f"  builders      {builders:>7.2f}  (new_event + the thin to_json_bytes, for CloudEvents)",
        f"  encode after  {new:>7.2f}  ({old / new:.1f}× faster; ceiling ratio"
        f" {ceiling / new:.2f})",
        f"  json.dumps    {ceiling:>7.2f}  (raw ceiling: a ready dict of JSON values)",
    ]
