"""Everything the dashboard needs, as plain objects: no settings, no `askdesk` imports.

The CLI builds one of these from the settings; tests build one from real stores and a real
engine over a tiny index. Callables stand in for what needs the filesystem or a model (index
freshness, question clustering), so the app can be run without either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from askdesk.dashboard.auth import AuthConfig

if TYPE_CHECKING:
    from askdesk.core.desk import SupportDesk
    from askdesk.dashboard.decision import Thresholds
    from askdesk.dashboard.jobs import JobRunner
    from askdesk.feedback.analytics import Analytics
    from askdesk.feedback.store import FeedbackStore

Freshness = Callable[[], dict[str, Any]]
"""Docs changed/added/removed on disk since the last index run, plus index size."""

ClusterQuestions = Callable[[Sequence[dict[str, Any]]], list[dict[str, Any]]]
"""Groups gap questions ({id, question}) into [{representative, count, interaction_ids,
examples}] (askdesk.core.gaps.cluster_questions with the encoder bound)."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    store: FeedbackStore
    analytics: Analytics
    thresholds: Thresholds
    jobs: JobRunner
    desk: SupportDesk | None = None  # None: the playground says the index is missing
    freshness: Freshness | None = None
    cluster_questions: ClusterQuestions | None = None
    auth: AuthConfig | None = None
    # Host names besides the bound address that may reach the dashboard (askdesk.dashboard.guard)
    allowed_hosts: tuple[str, ...] = ()
    tone_target: float = 0.8
    window_days: int = 7
    now: Callable[[], datetime] = field(default=_now)
    # the style model version answers use (`askdesk style use`); None: the latest trained one
    style_version: Callable[[], str | None] = field(default=lambda: None)
    # sync one configured source now (name, started_by): the freshness tab's "Sync now"
    sync_source: Callable[[str, str], Any] | None = None
