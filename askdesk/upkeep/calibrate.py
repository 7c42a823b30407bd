"""After an index run: calibrate when answers are declined, on this knowledge base's own pages.

Runs where every index run ends (the CLI, the dashboard's job, the schedule), after the run
is recorded; a failure only costs the calibration (the previous one, or the default model,
keeps deciding), never the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from askdesk.core.answerability import PROBES, Calibration, DecisionModel, calibrate
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.types import Question

if TYPE_CHECKING:
    from askdesk.retrieval.ingest import IndexReport
    from askdesk.retrieval.search import Searcher
    from askdesk.wiring import App

log = logging.getLogger(__name__)


def needs_calibration(app: App, report: IndexReport) -> bool:
    if not app.settings.answer_calibration or report.status != "ok":
        return False
    changed = report.docs_added or report.docs_changed or report.docs_removed
    return bool(changed) or Calibration.load(app.settings.calibration_file) is None


def probe_features(
    searcher: Searcher, composer: ExtractiveComposer, k: int
) -> Callable[[str, str], dict[str, float] | None]:
    """The decision features of a probe asked with its page hidden from search."""

    def features(question: str, doc_id: str) -> dict[str, float] | None:
        res = searcher.search(question, k, exclude_docs=[doc_id])
        if not res.hits:
            return None
        hits = searcher.context(res.hits)
        c = composer.compose(
            Question(question), hits, res.query_vector, res.unmatched_terms
        )
        return c.decision.features if c.decision is not None and c.text else None

    return features


def calibrate_answers(app: App, report: IndexReport) -> Calibration | None:
    """Probe the index with a page held out each time and store the shifted decision."""
    if not needs_calibration(app, report):
        return None
    try:
        searcher = app.searcher
        searcher.index.refresh()
        base = DecisionModel()  # probes are judged by the uncalibrated model
        composer = ExtractiveComposer(max_words=app.settings.answer_max_words, decision=base)
        cal = calibrate(
            searcher.index.sample(PROBES),
            probe_features(searcher, composer, app.settings.top_k),
            base,
            index_version=searcher.index.version,
            embed_model=app.settings.embed_model,
        )
        path = app.settings.calibration_file
        if cal is None:
            path.unlink(missing_ok=True)  # too small to probe: the default model decides
            log.info("answerability not calibrated: too few pages to probe")
            return None
        cal.save(path)
        log.info(
            "answerability calibrated",
            extra={"probes": cal.probes, "shift": cal.shift, "accepted": cal.accepted_before},
        )
        return cal
    except Exception as exc:
        log.warning("answerability calibration failed", extra={"error": str(exc)[:200]})
        return None
