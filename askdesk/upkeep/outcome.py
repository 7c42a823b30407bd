"""What every job returns besides its own figures: `status` ("ok" or "skipped") and a
one-line `message` a dashboard row or a log line can show as is."""

from __future__ import annotations

from typing import Any


def skipped(reason: str) -> dict[str, Any]:
    """The result of a job that did nothing on purpose (lock held, nothing configured)."""
    return {"status": "skipped", "reason": reason, "message": f"skipped: {reason}"}
