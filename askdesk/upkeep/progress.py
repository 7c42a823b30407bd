"""Progress as one number: every job reports `progress(fraction 0..1, message)`.

A dashboard bar or a job row needs one fraction, whatever stages a job has inside; these
helpers map each job's own stages onto that scale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

JobProgress = Callable[[float, str], None]

# Share of the bar each ingest stage fills, in order.
_INGEST_STAGES = {
    "scan": (0.0, 0.15),
    "embed": (0.15, 0.6),
    "passages": (0.6, 0.95),
    "write": (0.95, 1.0),
}
_INGEST_WORDS = {
    "scan": "reading documents",
    "embed": "embedding chunks",
    "passages": "embedding passages",
    "write": "writing",
}


def no_progress(fraction: float, message: str) -> None:
    return None


def guarded(progress: JobProgress | None) -> JobProgress:
    """A progress display that fails (say, the dashboard's job row can't be written) is
    logged and ignored: it must never fail the reindex or training it reports on."""
    if progress is None:
        return no_progress

    def report(fraction: float, message: str) -> None:
        try:
            progress(min(max(fraction, 0.0), 1.0), message)
        except Exception as exc:
            log.warning("job progress not reported", extra={"error": str(exc)[:200]})

    return report


class IngestProgress:
    """Adapts the ingester's `(stage, done, total)` callback to a JobProgress."""

    def __init__(self, report: JobProgress) -> None:
        self.report = report

    def __call__(self, stage: str, done: int, total: int) -> None:
        start, end = _INGEST_STAGES.get(stage, (0.0, 1.0))
        share = done / total if total else 1.0
        word = _INGEST_WORDS.get(stage, stage)
        self.report(start + (end - start) * share, f"{word} {done}/{total}")


class TrainProgress:
    """Adapts the trainer's event dicts to a JobProgress; training fills 5%–90% of the bar."""

    def __init__(self, report: JobProgress) -> None:
        self.report = report

    def __call__(self, event: dict) -> None:
        step, total = int(event.get("step", 0)), int(event.get("total") or 0)
        share = step / total if total else 0.0
        loss = f", loss {event['loss']:.3f}" if "loss" in event else ""
        if event.get("event") == "calibrate":
            self.report(0.9, "calibrating the openers on the examples")
            return
        self.report(0.05 + 0.85 * min(share, 1.0), f"training step {step}/{total}{loss}")
