"""How far and how long one website sync may go: the crawler's limits and their defaults.

Kept apart from askdesk.retrieval.web so the settings can take their defaults from here without
importing an HTTP client.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CrawlLimits:
    max_pages: int = 2000
    max_bytes: int = 200_000_000
    max_page_bytes: int = 20_000_000
    delay_s: float = 0.0
    concurrency: int = 4
    timeout_s: float = 15.0
    """Connect and per-read timeout; a slow-but-steady body is bounded by page_deadline_s."""
    page_deadline_s: float = 60.0
    """Wall-clock limit on one request (redirects and the whole body included)."""
    sync_deadline_s: float = 1800.0
    """Wall-clock limit on the crawl of one sync; pages not reached in time are kept."""
