"""Request limits of the HTTP API: questions per key per minute (a token bucket).

Body size is aiohttp's `client_max_size`; conversations flooding is the delivery core's
per-thread limit. The bucket refills continuously, so a key used steadily under its rate is
never refused and a burst of up to a minute's worth goes through."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimit:
    def __init__(self, per_minute: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 when the request may go ahead (a token is taken), else the seconds to wait."""
        if self.per_minute <= 0:
            return 0.0
        rate = self.per_minute / 60.0
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.per_minute, now))
            tokens = min(self.per_minute, tokens + (now - at) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate
