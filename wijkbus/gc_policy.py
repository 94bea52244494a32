"""The garbage collector's policy for processes that hold batches of thousands of events.

CPython's cyclic collector runs a young collection every 700 allocations and, as the heap grows,
full collections that walk every live object. A processor holds a fetched batch (thousands of
decoded events, models and rows) while it works, so with the default thresholds most of the
time of decoding went to collections (measured: 17–28 µs per signals.accepted record against
8.5 µs without them). Our events hold no reference cycles, so collecting less often costs little
memory.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def collect_less() -> None:
    """Freeze what exists now (modules, settings, the app) out of the collector's sight and
    raise the young generation's threshold; call once per process, from its entry point (a
    service's main, `wijkbus replay`), never from library code that tests run in-process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


@contextmanager
def collecting_less() -> Iterator[None]:
    """`collect_less` for a while, then the collector as it was: for a benchmark that runs a
    service in its own process, as the service's entry point would."""
    before = gc.get_threshold()
    collect_less()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
