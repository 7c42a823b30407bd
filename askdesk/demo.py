"""What `askdesk demo` sets up so the dashboard has something true to show, with no tokens.

Every interaction comes from asking a real question through the real desk (engine, store,
hashed askers), from three platforms and a few channels. Votes are the one simulated part:
a demo voter judges each answer the way the golden set does (👍 when the expected page was
cited, 👎 "wrong facts" when it was not, 👎 "not in the docs" when nothing was found), and
each such vote is stored with `source="demo"`, which the dashboard labels as demo data.

Then the weeks before today are written as simulated history (askdesk.demo_history): copies
of today's real answers re-dated into the past, every row flagged `simulated`, so the
dashboard's trends have a story to show (a stale index, a reindex, a new style version).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askdesk.core.types import Question
from askdesk.demo_history import write_history
from askdesk.feedback.reasons import Reason
from askdesk.styling.model.base import resolve_base_model
from askdesk.upkeep.retrain import activate_version, fit_tone, split_examples

if TYPE_CHECKING:
    from askdesk.core.desk import SupportDesk
    from askdesk.demo_history import Story
    from askdesk.feedback.store import FeedbackStore
    from askdesk.wiring import App

DEMO_VOTE_SOURCE = "demo"

#: (platform, channel) pairs the sample traffic is spread over, so filters have something to do
DEMO_PLACES: tuple[tuple[str, str], ...] = (
    ("slack", "C-support"),
    ("slack", "C-billing"),
    ("discord", "help-desk"),
    ("web", "playground"),
)

#: Questions the sample docs cannot answer, in pairs of paraphrases: the Gaps tab groups them.
#: (Not "Can I pay with bitcoin?": the invoice guide answers it, "We do not accept PayPal,
#: cheques or cryptocurrencies", and askdesk quotes that since search ranks by passages.)
GAP_QUESTIONS: tuple[str, ...] = (
    "Do you have an iPhone app?",
    "Is there a mobile app for iOS?",
    "Do you offer on-site training courses?",
    "Can your team train our staff in person?",
    "What is the weather in Lisbon today?",
)


def sample_dir() -> Path:
    return Path(str(resources.files("askdesk") / "sample"))


@dataclass
class Traffic:
    asked: int = 0
    up: int = 0
    down: int = 0
    unanswered: int = 0


def golden_questions(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def demo_verdict(answer: Any, expected: Iterable[str]) -> tuple[int, str | None]:
    """How the demo voter judges an answer: the golden set's expected pages decide."""
    if answer.unanswered:
        return -1, Reason.NOT_IN_DOCS.value
    wanted = tuple(expected)
    cited = [s.path for s in answer.sources]
    if not wanted or any(c == w or c.endswith("/" + w) for c in cited for w in wanted):
        return 1, None
    return -1, Reason.WRONG_FACTS.value


def seed_traffic(
    desk: SupportDesk,
    golden: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Traffic:
    """Ask the golden questions and the gap questions through the real desk, spread over the
    demo places, and cast one labelled demo vote on each answer (`desk`: `App.desk()`)."""
    items = [(g["question"], g.get("sources") or []) for g in golden_questions(golden)]
    items += [(q, []) for q in GAP_QUESTIONS]
    out = Traffic()
    for i, (text, expected) in enumerate(items):
        platform, channel = DEMO_PLACES[i % len(DEMO_PLACES)]
        asker = f"demo-asker-{i % 7}"
        answer = desk.ask(
            Question(text, platform=platform, channel=channel, asker_id=asker, style=False)
        )
        out.asked += 1
        out.unanswered += int(answer.unanswered)
        if answer.interaction_id is not None:
            value, reason = demo_verdict(answer, expected)
            desk.vote(
                answer.interaction_id,
                platform,
                f"demo-voter-{i % 5}",
                value,
                reason=reason,
                source=DEMO_VOTE_SOURCE,
            )
            out.up += value > 0
            out.down += value < 0
        if progress:
            progress(i + 1, len(items))
    return out


def install_sample_style(app: App) -> str | None:
    """Make the bundled sample style model (if this build ships one) the active version.

    The version folder is copied into DATA_DIR/style once; its `style.json` keeps naming the
    base model by label, which each load resolves to the data dir's converted copy (so the data
    dir can be moved, or used from any directory). Returns the version, or None when no sample
    model is bundled (then `askdesk style train` makes one). `askdesk style use sample` and
    `askdesk demo` both call this.
    """
    bundled = sample_dir() / "style" / "model"
    if not (bundled / "style.json").is_file():
        return None
    style = json.loads((bundled / "style.json").read_text())
    version = str(style.get("version") or "sample")
    target = app.style_root / version
    if not (target / "style.json").is_file():
        base = Path(resolve_base_model(str(style["base_model"]), app.base_model_cache))
        shutil.copytree(bundled, target, dirs_exist_ok=True)
        # the tokenizer is the base model's own (3.5 MB not worth bundling twice)
        for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
            if (base / name).is_file() and not (target / name).is_file():
                shutil.copy2(base / name, target / name)
        # its training run, so the dashboard can say what answers in the voice
        report = json.loads((target / "report.json").read_text())
        app.store.styles.record_train_run({**report, "version": version}, app.data_relative(target))
    else:
        installed = json.loads((target / "style.json").read_text())
        if _stored_path(installed):
            # installed by an older askdesk with the base model as a path relative to the
            # folder the command ran in: named by its label again (what the demo bug left)
            installed["base_model"] = style["base_model"]
            (target / "style.json").write_text(json.dumps(installed, indent=2))
    activate_version(app, version)
    return version


def _stored_path(style: dict[str, Any]) -> bool:
    base = str(style.get("base_model") or "")
    return "/" in base and not Path(base).is_absolute()


def ensure_tone_scorer(app: App) -> str | None:
    """A tone scorer fitted on the sample examples, so every demo answer gets a tone score
    even without a style model (it lives in DATA_DIR/style/tone). Returns a note, or None if
    one already exists."""
    if app.tone_folder() is not None:
        return None

    examples, report = split_examples(sample_dir() / "style" / "examples.jsonl")
    pairs = [(examples[i].input, examples[i].output) for i in report.train]
    return fit_tone(app, pairs, app.style_root, {})


def seed_history(
    store: FeedbackStore, eval_run_id: int, style: str | None, now: datetime | None = None
) -> Story:
    """Write the simulated weeks before today (askdesk.demo_history) from what the demo just
    did for real: its answers, eval run #`eval_run_id`, its index run and the active style
    version `style`."""
    real = [r for r in store.interactions.recent(limit=500) if not r["simulated"]]
    samples = [r for r in real if r["platform"] != "cli"] or real
    (eval_run,) = [r for r in store.styles.eval_runs(limit=500) if r["id"] == eval_run_id]
    index_run = next(
        (
            r
            for r in store.index_runs.recent(limit=200)
            if not r["simulated"] and r["status"] == "ok"
        ),
        {},
    )
    train_run = next(
        (
            r
            for r in store.styles.train_runs(limit=1000)
            if r["version"] == style and not r["simulated"]
        ),
        None,
    )
    return write_history(
        store,
        now=now or datetime.now(UTC),
        samples=samples,
        eval_run=eval_run,
        index_run=index_run,
        style=style,
        train_run=train_run,
    )
