"""A bounded, thread-safe TTL set: "have I already taken this one?".

Slack redelivers an event (same `event_id`, `X-Slack-Retry-Num: n`) when it did not see an
ack in time, and can deliver one message both as `app_mention` and as `message`. Answering
twice is the visible bug, so the first delivery claims a key and every later one is dropped.

Limit: the set lives in one process. Bots running side by side each have their own, so a
retry that lands on another process is only caught by the HTTP-mode rule in
`bots.slack.app` (retries after an `http_timeout` are dropped: the first delivery arrived).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class SeenKeys:
    def __init__(
        self,
        ttl_s: float = 3600.0,  # Slack retries for about 5 minutes; keep well beyond that
        max_keys: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self._clock = clock
        self._keys: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, key: str) -> bool:
        """True for the first caller with this key (within the TTL), False for every later one."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            if key in self._keys:
                return False
            self._keys[key] = now + self.ttl_s
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
            return True

    def forget(self, key: str) -> None:
        """Let the key be claimed again (e.g. the work it guarded could not start)."""
        with self._lock:
            self._keys.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._keys)

    def _expire(self, now: float) -> None:
        while self._keys:
            key, deadline = next(iter(self._keys.items()))
            if deadline > now:
                break
            del self._keys[key]
