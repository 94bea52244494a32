"""Token buckets per caller: a steady rate with room for bursts, answered with Retry-After."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBuckets:
    """One bucket per key; `take` says how long to wait when the bucket runs dry."""

    rate_per_s: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend `cost` tokens; 0 when allowed, else the seconds until it would be."""
        now = self.clock()
        tokens, last = self._state.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate_per_s)
        if cost > tokens:
            self._state[key] = (tokens, now)
            return (cost - tokens) / self.rate_per_s if cost <= self.burst else math.inf
        self._state[key] = (tokens - cost, now)
        return 0.0
