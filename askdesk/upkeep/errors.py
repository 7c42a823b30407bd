"""The one exception a job raises when it ran and failed, so callers need catch only it."""

from __future__ import annotations


class UpkeepError(Exception):
    """A job failed; the message is one line for a person (dashboard, log, terminal)."""
