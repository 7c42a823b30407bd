"""Style model training shared by `askdesk style train` and the retrain job.

The job trains on the team's examples file plus the approved (curated) answers no version has
used yet, so the voice follows what the team keeps approving; those examples are then marked
with the new version, which is what the retrain rule counts against.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askdesk.locking import Busy, exclusive
from askdesk.styling.model.base import resolve_base_model
from askdesk.styling.training.examples import (
    Example,
    ExamplesFileError,
    check_examples,
    load_examples,
    load_product_terms,
    load_topics,
)
from askdesk.styling.training.fine_tune import TrainConfig, train_style_model
from askdesk.upkeep.errors import UpkeepError
from askdesk.upkeep.outcome import skipped
from askdesk.upkeep.progress import JobProgress, TrainProgress, guarded

if TYPE_CHECKING:
    from askdesk.styling.training.examples import CheckReport
    from askdesk.wiring import App

log = logging.getLogger(__name__)

SAMPLE_EXAMPLES = Path(__file__).resolve().parents[1] / "sample" / "style" / "examples.jsonl"
#: A file of this name next to the examples makes a topic-based held-out split.
TOPICS_FILE = "held_out_topics.txt"

Pairs = list[tuple[str, str]]


@dataclass
class TrainOutcome:
    """A trained, recorded version: what the CLI prints and the job returns."""

    version: str
    folder: Path
    report: dict[str, Any]
    tone_note: str
    train_run_id: int


def team_examples(app: App) -> Path:
    """DATA_DIR/style/examples.jsonl when the team keeps one there, else the bundled sample."""
    own = app.style_root / "examples.jsonl"
    return own if own.is_file() else SAMPLE_EXAMPLES


def split_examples(path: Path) -> tuple[list[Example], CheckReport]:
    """The examples and their check report (with the topic split if a topics file is next to
    them): training and evaluation must see the same split. Raises ExamplesFileError."""
    examples = load_examples(path)
    topics_file = path.with_name(TOPICS_FILE)
    topics = load_topics(topics_file) if topics_file.is_file() else None
    terms = load_product_terms(path)  # product_terms.txt beside the examples, if any
    return examples, check_examples(examples, held_out_topics=topics, product_terms=terms)


def activate_version(app: App, version: str) -> None:
    """What `askdesk style use` does: answers use this version from now on.

    A version under DATA_DIR/style is written by name; a folder elsewhere by its absolute
    path, never relative to the directory the command ran in."""
    app.style_root.mkdir(parents=True, exist_ok=True)
    given = Path(version).expanduser()
    if not (app.style_root / version).is_dir() and given.is_dir():
        version = str(given.resolve())
    (app.style_root / "active").write_text(version + "\n")


def train_and_record(
    app: App,
    train_pairs: Pairs,
    eval_pairs: Pairs,
    config: TrainConfig,
    *,
    progress: Any = None,
) -> TrainOutcome:
    """Fine-tune on the pairs, fit the tone scorer on the same training pairs, write the
    report and record the TrainRun. `progress` receives the trainer's event dicts."""
    s = app.settings
    base = resolve_base_model(s.style_base_model, app.base_model_cache)
    result = train_style_model(
        train_pairs,
        eval_pairs,
        app.style_root,
        base,
        config,
        base_model_label=s.style_base_model,
        progress=progress,
    )
    rep = result.report
    tone_note = fit_tone(app, train_pairs, result.folder, rep)
    (result.folder / "report.json").write_text(json.dumps(rep, indent=2))
    run_id = app.store.styles.record_train_run(rep, app.data_relative(result.folder))
    return TrainOutcome(result.version, result.folder, rep, tone_note, run_id)


def fit_tone(app: App, train_pairs: Pairs, folder: Path, rep: dict[str, Any]) -> str:
    """Fit the tone scorer on the training pairs (outputs: brand voice, inputs: plain) and
    keep it next to the model, so the version and its tone yardstick travel together."""
    # lean: scikit-learn and scipy load only when a tone scorer is fitted, never to serve
    from askdesk.styling.tone.fitting import fit_tone_scorer

    brand = [out for _, out in train_pairs]
    plain = [inp for inp, _ in train_pairs]
    try:
        scorer = fit_tone_scorer(
            brand, plain, app.embedder.encode, embedder=app.settings.embed_model
        )
    except ValueError as exc:
        return f"tone scorer not fitted: {exc}"
    scorer.save(folder / "tone")
    rep["tone_scorer"] = scorer.version
    return f"tone scorer {scorer.version}"


def curated_pairs(app: App, terms: tuple[str, ...] = ()) -> tuple[Pairs, list[int], int]:
    """Unused curated examples that pass the examples check: (pairs, their ids, rejected).

    A curated answer that adds a fact its draft lacks would teach the model to invent facts,
    so the same errors that stop `style check` keep an example out of training."""
    rows = app.store.styles.curated_examples(unused_only=True)
    if not rows:
        return [], [], 0
    examples = [Example(r["input"], r["output"], line=i + 1) for i, r in enumerate(rows)]
    report = check_examples(examples, split=(range(len(examples)), []), product_terms=terms)
    bad = {issue.line for issue in report.errors}
    kept = [(ex, r) for ex, r in zip(examples, rows, strict=True) if ex.line not in bad]
    return [(ex.input, ex.output) for ex, _ in kept], [int(r["id"]) for _, r in kept], len(bad)


def retrain_job(
    app: App,
    progress: JobProgress | None = None,
    *,
    examples: Path | None = None,
    max_steps: int | None = None,
) -> dict[str, Any]:
    """Train a new style version on the team's examples plus the unused curated ones, record
    it, mark those curated examples used and make the version active. Returns
    {"status": "skipped", "reason"} when another training run holds the lock; raises
    UpkeepError when the examples are unusable or training fails."""
    report_progress = guarded(progress)
    path = examples or team_examples(app)
    try:
        with exclusive(app.settings.data_dir / "style.lock", "training run"):
            report_progress(0.0, f"checking {path.name}")
            try:
                file_examples, check = split_examples(path)
            except ExamplesFileError as exc:
                raise UpkeepError(f"{path}: {str(exc).splitlines()[0]}") from exc
            if not check.ok:
                raise UpkeepError(
                    f"{len(check.errors)} error(s) in {path}: run `askdesk style check {path}`"
                )
            train_pairs = [(file_examples[i].input, file_examples[i].output) for i in check.train]
            eval_pairs = [(file_examples[i].input, file_examples[i].output) for i in check.eval]
            extra, curated_ids, rejected = curated_pairs(app, check.product_terms)
            report_progress(0.05, f"training on {len(train_pairs) + len(extra)} pairs")
            config = TrainConfig(
                max_steps=max_steps,
                threads=app.settings.style_threads,
                product_terms=check.product_terms,
            )
            try:
                outcome = train_and_record(
                    app,
                    train_pairs + extra,
                    eval_pairs,
                    config,
                    progress=TrainProgress(report_progress),
                )
            except Exception as exc:
                raise UpkeepError(f"training failed: {_first_line(exc)}") from exc
            report_progress(0.95, "activating")
            if curated_ids:
                app.store.styles.mark_examples_used(curated_ids, outcome.version)
            activate_version(app, outcome.version)
    except Busy as exc:
        return skipped(str(exc))
    rep = outcome.report
    report_progress(1.0, "done")
    return {
        "status": "ok",
        "version": outcome.version,
        "folder": str(outcome.folder),
        "train_run_id": outcome.train_run_id,
        "examples_file": str(path),
        "train_examples": rep.get("train_examples"),
        "eval_examples": rep.get("eval_examples"),
        "curated_used": len(curated_ids),
        "curated_rejected": rejected,
        "steps": rep.get("steps"),
        "train_loss": rep.get("train_loss"),
        "eval_loss": rep.get("eval_loss"),
        "duration_s": rep.get("duration_s"),
        "tone": outcome.tone_note,
        "active": True,
        "message": f"version {outcome.version} is active: {rep.get('steps')} steps on "
        f"{rep.get('train_examples')} pairs ({len(curated_ids)} curated)",
    }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
