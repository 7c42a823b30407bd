"""Polling for what a background thread (a bot's handler, a takeover, a styled edit) will do."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """The first truthy value of `check()`, polled every 20 ms; AssertionError after
    `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")
