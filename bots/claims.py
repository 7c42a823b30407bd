"""The one duplicate-delivery guard of every chat surface: "have I already taken this one?".

A bounded, thread-safe TTL set. Slack redelivers an event (same `event_id`,
`X-Slack-Retry-Num: n`) when it did not see an ack in time, and can deliver one message both
as `app_mention` and as `message`. Answering twice is the visible bug, so the first delivery
claims a key and every later one is dropped.
Discord gives each message to every process of a fleet on one token: the same claim decides
which of them answers. `askdesk.bots.delivery.Delivery` claims each message through it.

`SeenKeys` lives in one process. `SharedKeys` adds the fleet: each first claim is also a
unique row in the shared database (`askdesk.feedback.fleet.Fleet.claim`), so of several processes
behind one request URL exactly one takes a delivery, whichever of them receives it. When the
database cannot be reached, the claim is retried for a few seconds (a PostgreSQL restart
takes about one; deciding alone then would let two processes answer the same redelivered
event), and only then does the local set decide (the bot keeps answering with its apology)
and a warning says so. A claim in Slack's ack path does not wait (`wait=False`); the
message's own claim, made after the ack, does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

log = logging.getLogger(__name__)


class SeenKeys:
    shared = False  # claims seen by this process only (see SharedKeys)

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

    def claim(self, key: str, *, wait: bool = True) -> bool:
        """True for the first caller with this key (within the TTL), False for every later one.
        `wait` matters only to `SharedKeys` (whether to wait out a database outage)."""
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


class SharedKeys(SeenKeys):
    """`SeenKeys` whose first claims are also claimed in the fleet's database.

    `claim_shared(key) -> bool` must be atomic across processes (an insert-or-skip);
    `release_shared(key)` undoes it. A key this process already holds is refused locally
    without a round trip; a key the database refuses is remembered locally too.
    """

    shared = True

    def __init__(
        self,
        claim_shared: Callable[[str], bool],
        release_shared: Callable[[str], None] | None = None,
        *,
        outage_wait_s: float = 5.0,
        retry_every_s: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
        **kwargs: float,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._claim_shared = claim_shared
        self._release_shared = release_shared
        self.outage_wait_s = outage_wait_s
        self.retry_every_s = retry_every_s
        self._sleep = sleep

    def claim(self, key: str, *, wait: bool = True) -> bool:
        """As `SeenKeys.claim`, decided by the database. `wait=False` is for a caller that
        must not block (Slack's ack path): in an outage it decides at once, and the claim
        made after the ack (the message's key, in `Delivery.accept`) waits for the database."""
        if not super().claim(key):
            return False
        deadline = self._clock() + (self.outage_wait_s if wait else 0.0)
        while True:
            try:
                return self._claim_shared(key)
            except Exception as exc:
                if self._clock() + self.retry_every_s > deadline:
                    # still down: this process decides alone, and says so
                    log.warning(
                        "shared claim unavailable; deciding in this process",
                        extra={"error": type(exc).__name__},
                    )
                    return True
            self._sleep(self.retry_every_s)

    def forget(self, key: str) -> None:
        super().forget(key)
        if self._release_shared is None:
            return
        try:
            self._release_shared(key)
        except Exception as exc:
            log.warning("shared claim not released", extra={"error": type(exc).__name__})
