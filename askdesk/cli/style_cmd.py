"""`askdesk style …`: check training pairs, fine-tune, try, evaluate and choose the style model.

Versions live in DATA_DIR/style/<version>/; `style use VERSION` writes DATA_DIR/style/active
(the `style_model` setting overrides it), so rolling back is `style use <older version>`.
torch and transformers load inside styling's training and decoding functions, and this module
only when a `style` command runs: `askdesk --help` stays instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from askdesk.cli.context import UserError
from askdesk.demo import install_sample_style
from askdesk.styling.model.base import DEFAULT_BASE_MODEL, require_style_install
from askdesk.styling.tone.scorer import ToneScorer
from askdesk.styling.training.evaluate import evaluate as run_eval
from askdesk.styling.training.examples import ExamplesFileError
from askdesk.styling.training.fine_tune import TrainConfig
from askdesk.styling.training.fine_tune import list_versions as versions
from askdesk.upkeep.retrain import (
    SAMPLE_EXAMPLES,
    activate_version,
    split_examples,
    train_and_record,
)

if TYPE_CHECKING:
    from askdesk.styling.training.examples import CheckReport, Example
    from askdesk.wiring import App

style_app = typer.Typer(
    help="The style model: brand voice on top of grounded answers, facts guarded.",
    no_args_is_help=True,
)

#: `askdesk style use sample`: the bundled voice (askdesk/sample/style/model).
SAMPLE_VERSION = "sample"

ExamplesArg = Annotated[
    Path | None,
    typer.Argument(help="JSONL of {input, output} pairs (default: the bundled sample)."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(style_app, name="style")


def load_split(path: Path | None) -> tuple[list[Example], CheckReport]:
    """The examples and their check report (with the topic split if a topics file is next
    to them): training and evaluation must see the same split."""
    try:
        return split_examples(path or SAMPLE_EXAMPLES)
    except ExamplesFileError as exc:
        raise UserError(str(exc).splitlines()[0], "run `askdesk style check`") from exc


@style_app.command("check")
def check(file: ExamplesArg = None) -> None:
    """Validate a training set: per-line problems, then the train/eval split. Exit 1 on errors."""
    try:
        _, report = load_split(file)
    except UserError as exc:
        cause = exc.__cause__
        if isinstance(cause, ExamplesFileError):
            for issue in cause.issues:
                typer.echo(str(issue))
            raise typer.Exit(1) from exc
        raise
    typer.echo(report.format())
    if not report.ok:
        raise typer.Exit(1)


@style_app.command("train")
def train(
    ctx: typer.Context,
    file: ExamplesArg = None,
    lora: Annotated[
        bool, typer.Option("--lora/--full", help="LoRA adapter or all weights.")
    ] = True,
    max_steps: Annotated[int | None, typer.Option(help="Stop after N steps (try small).")] = None,
    limit: Annotated[int | None, typer.Option(help="Train on the first N pairs only.")] = None,
    epochs: Annotated[float, typer.Option(help="Passes over the training pairs.")] = 3.0,
    batch_size: Annotated[int, typer.Option(help="Pairs per step.")] = 4,
    use: Annotated[bool, typer.Option(help="Make the new version the active one.")] = False,
) -> None:
    """Fine-tune the style model on the pairs; writes DATA_DIR/style/<version>/."""
    examples, report = load_split(file)
    if not report.ok:
        raise UserError(
            f"{len(report.errors)} error(s) in the examples", "run `askdesk style check`"
        )
    app = ctx.obj.app()
    s = app.settings

    require_style_install()  # a lean install: one line, before any "converting…" talk
    packaged = s.style_base_model == DEFAULT_BASE_MODEL
    if packaged and not (app.base_model_cache / "config.json").is_file():
        typer.echo("converting the packaged SmolLM2 model once (about 30 s)…", err=True)
    train_pairs = [(examples[i].input, examples[i].output) for i in report.train]
    eval_pairs = [(examples[i].input, examples[i].output) for i in report.eval]
    cfg = TrainConfig(
        mode="lora" if lora else "full",
        epochs=epochs,
        max_steps=max_steps,
        limit=limit,
        batch_size=batch_size,
        threads=s.style_threads,
        product_terms=report.product_terms,
    )
    with _progress_bar() as progress:
        result = train_and_record(app, train_pairs, eval_pairs, cfg, progress=progress)
    rep, tone_note = result.report, result.tone_note
    if use or app.active_style_version() is None:
        activate_version(app, result.version)
    typer.echo(
        f"version {result.version}: {rep['steps']} steps in {rep['duration_s']:.0f} s, "
        f"train loss {rep['train_loss']:.3f}, eval loss {_num(rep['eval_loss'])}"
        f"{' (stopped early)' if rep['stopped_early'] else ''}; {tone_note}"
    )
    typer.echo(f"  {result.folder}")
    active = app.active_style_version()
    typer.echo(
        f"  active version: {active}"
        + (
            ""
            if active == result.version
            else f" (answer with this one: askdesk style use {result.version})"
        )
    )


@style_app.command("rewrite")
def rewrite(
    ctx: typer.Context,
    draft: Annotated[list[str], typer.Argument(help="The plain draft text ('-' reads stdin).")],
    version: Annotated[str | None, typer.Option(help="Version (default: the active one).")] = None,
) -> None:
    """Rewrite one draft in the brand voice and show the fact guard's verdict."""
    text = " ".join(draft)
    if text.strip() == "-":
        text = sys.stdin.read()
    rewriter = _rewriter(ctx.obj.app(), version)
    result = rewriter.rewrite_detail(text)  # its budget starts once the model is loaded
    # exactly what would be posted: the styled text, else the draft (a rewrite that fell
    # back, or a draft passed through before any generation); never the model's raw attempt
    typer.echo(result.text if result.text is not None else text)
    verdict = "kept every fact" if result.text is not None else f"draft kept ({result.note})"
    if result.text is not None and result.units_kept:
        verdict += f"; kept as drafted where: {'; '.join(result.units_kept)}"
    typer.echo(f"\n[{rewriter.version}] {verdict} — {result.seconds:.1f} s", err=True)


@style_app.command("eval")
def evaluate(
    ctx: typer.Context,
    version: Annotated[str | None, typer.Option(help="Version (default: the active one).")] = None,
    file: Annotated[
        Path | None, typer.Option(help="Examples (default: the bundled sample).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable figures.")] = False,
    limit: Annotated[int | None, typer.Option(help="Evaluate the first N held-out pairs.")] = None,
    baseline: Annotated[bool, typer.Option(help="Also time plain greedy generate.")] = False,
) -> None:
    """Fact guard, voice, tone and latency on the held-out split."""
    app = ctx.obj.app()
    examples, report = load_split(file)
    held = [examples[i] for i in report.eval][:limit]
    if not held:
        raise UserError("no held-out examples to evaluate on", "give a larger --file or no --limit")
    rewriter = _rewriter(app, version)
    scorer = _tone_scorer(app, rewriter.model_dir)
    result = run_eval(rewriter, held, tone=scorer, baseline=baseline, progress=_dots)
    typer.echo("", err=True)
    result["version"] = rewriter.version
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        return
    _print_eval(result)


@style_app.command("list")
def list_versions(ctx: typer.Context) -> None:
    """Trained versions with their reports; `*` marks the active one."""
    app = ctx.obj.app()
    active = app.active_style_version()
    found = versions(app.style_root)
    if not found:
        typer.echo("no style model yet: run `askdesk style train`")
        return
    for r in found:
        mark = "*" if r["version"] == active else " "
        typer.echo(
            f"{mark} {r['version']}  {r['mode']:<4}  {r['steps']:>4} steps  "
            f"eval loss {_num(r.get('eval_loss'))}  {r['train_examples']} pairs  "
            f"{r['duration_s']:.0f} s  data {r['data_hash'][:10]}  {r.get('created_at', '')}"
        )


@style_app.command("use")
def use(
    ctx: typer.Context,
    version: Annotated[
        str, typer.Argument(help="A version name, a version folder, or `sample` (bundled voice).")
    ],
) -> None:
    """Answer with this version from now on (roll back by using an older one).

    `sample` installs the bundled Tidewire sample voice into this data dir and activates it,
    so the voice can be tried without training."""
    app = ctx.obj.app()
    if version == SAMPLE_VERSION and app.style_folder(version) is None:
        installed = install_sample_style(app)
        if installed is None:
            raise UserError("this build bundles no sample style model", "run `askdesk style train`")
        version = installed
    if app.style_folder(version) is None:
        raise UserError(f"no style model version {version!r}", "see `askdesk style list`")
    activate_version(app, version)
    if app.settings.style_model and app.settings.style_model != version:
        typer.echo(f"note: the style_model setting ({app.settings.style_model}) overrides this")
    typer.echo(f"active style model: {version}")


# -- helpers -------------------------------------------------------------------------------


def _rewriter(app: App, version: str | None) -> Any:
    rewriter = app.style_rewriter(version)
    if rewriter is None:
        name = version or app.active_style_version()
        if name:
            raise UserError(f"no style model version {name!r}", "see `askdesk style list`")
        raise UserError(
            "no style model yet", "run `askdesk style train`, or `askdesk style use sample`"
        )
    return rewriter


def _tone_scorer(app: App, folder: Path) -> Any:
    """Scores texts with the tone scorer saved next to the version, if there is one."""
    if not (folder / "tone").is_dir():
        return None
    scorer = ToneScorer.load(folder / "tone")
    return lambda texts: scorer.score(texts, app.embedder.encode)


class _progress_bar:
    """A rich progress bar fed by the trainer's progress events (loss in the description)."""

    def __enter__(self) -> Any:
        self.bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        self.bar.start()
        self.task = self.bar.add_task("training", total=None)
        self.eval = "–"
        self.loss = "–"
        return self.update

    def update(self, event: dict[str, Any]) -> None:
        if event["event"] == "eval":
            self.eval = f"{event['eval_loss']:.3f}"
        if "loss" in event:
            self.loss = f"{event['loss']:.3f}"
        what = f"training loss {self.loss} eval {self.eval}"
        if event["event"] == "calibrate":
            what = "choosing when each opener fits (calibrating on the examples)"
        self.bar.update(self.task, completed=event["step"], total=event["total"], description=what)

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


def _dots(done: int, total: int) -> None:
    typer.echo(f"\rrewriting {done}/{total}", nl=False, err=True)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _print_eval(r: dict[str, Any]) -> None:
    typer.echo(f"style model {r['version']} on {r['drafts']} held-out drafts")
    typer.echo(
        f"  styled, every fact kept:      {r['guard_pass']:.0%} "
        f"(whole {r.get('rewritten_whole', 0):.0%}, some sentences as drafted "
        f"{r.get('rewritten_in_part', 0):.0%})"
    )
    typer.echo(f"  carry the voice (rules):      {r['voice']:.0%}")
    both = (r.get("tone") or {}).get("voice_rules_and_tone")
    if both is not None:
        typer.echo(f"  carry the voice (rules+tone): {both:.0%}")
    typer.echo(
        f"  latency p50 / p95:            {r['latency_p50_s']:.1f} s / {r['latency_p95_s']:.1f} s"
    )
    if r["fallbacks"]:
        typer.echo("  fallbacks: " + ", ".join(f"{k} {v}" for k, v in r["fallbacks"].items()))
    if "baseline" in r:
        b = r["baseline"]
        typer.echo(
            f"  plain generate p50 {b['generate_p50_s']:.1f} s on {b['drafts']} drafts; "
            f"rewrite/generate {_num(b['ratio_p50'])}×"
        )
    tone = r.get("tone")
    if tone:
        typer.echo(
            f"  tone: drafts {_num(tone['drafts_mean'])}, answers {_num(tone['answers_mean'])}, "
            f"rewrites {_num(tone['rewrites_mean'])}; scorer AUROC {_num(tone['auroc'])}"
        )
        for topic, v in tone["spread_by_topic"].items():
            typer.echo(f"    {topic or '(none)'}: mean {v['mean']:.2f} (n={v['count']})")
        flagged = tone["sentiment_shift_flagged"]
        typer.echo(f"  sentiment moved > 0.3 from the draft: {len(flagged)}")
        for f in flagged:
            typer.echo(f"    line {f['line']} ({f['topic']})")
    else:
        typer.echo("  tone: no tone scorer next to this version")
