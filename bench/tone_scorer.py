"""Tone scorer validation on the bundled brand-voice set, plus VADER against human ratings.

    python bench/tone_scorer.py [--json] [--vader-data DIR] [--no-engine]

1. Fits the scorer on the train split of askdesk/sample/style/examples.jsonl (outputs = brand,
   inputs = plain; the leak-free split of `check_examples`) and reports, on the eval split:
   AUROC of both voices (goal ≥ 0.95), mean score of drafts (goal ≤ 0.3) and of brand outputs
   (goal ≥ 0.8), the spread by topic, and single-text scoring latency.
2. Text the scorer never saw: the engine's own answers to askdesk/sample/golden.jsonl
   (plain extractive drafts, so they should score low).
3. The sentiment-shift check: how many faithful pairs it flags, and whether it flags the
   cautionary outputs when their frame is swapped for the cheerful one.
4. VADER vs the mean human ratings shipped in the vaderSentiment sdist
   (`additional_resources/hutto_ICWSM_2014.tar.gz`): Pearson r per set. Looked for in
   --vader-data, else fetched once with `pip download --no-binary` into bench/_data/vader.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import embedder, emit, log, parser
from _corpus import DATA, REPO, SAMPLE_DOCS, SAMPLE_GOLDEN

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine
from askdesk.core.types import Question
from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import Searcher
from askdesk.styling.tone.fitting import fit_tone_scorer
from askdesk.styling.tone.scorer import ToneScorer, auroc, spread_by_group
from askdesk.styling.tone.sentiment import sentiment, sentiment_shifts
from askdesk.styling.training.examples import check_examples, load_examples

EXAMPLES = REPO / "askdesk" / "sample" / "style" / "examples.jsonl"
VADER_SETS = ("tweets", "amazonReviewSnippets", "movieReviewSnippets", "nytEditorialSnippets")


def scorer_figures(emb: Embedder) -> tuple[ToneScorer, dict[str, Any]]:
    examples = load_examples(EXAMPLES)
    report = check_examples(examples)
    train = [examples[i] for i in report.train]
    evals = [examples[i] for i in report.eval]
    t = time.perf_counter()
    scorer = fit_tone_scorer(
        [e.output for e in train], [e.input for e in train], emb.encode, embedder=emb.model_name
    )
    fit_s = time.perf_counter() - t
    brand = scorer.score([e.output for e in evals], emb.encode)
    plain = scorer.score([e.input for e in evals], emb.encode)
    latency = []
    for e in evals[:20]:
        t = time.perf_counter()
        scorer.score([e.output], emb.encode)
        latency.append((time.perf_counter() - t) * 1000)
    topics = [e.topic or "-" for e in evals]
    caution = [i for i, e in enumerate(evals) if e.caution]
    return scorer, {
        "train_pairs": len(train),
        "eval_pairs": len(evals),
        "fit_s": round(fit_s, 2),
        "scorer_version": scorer.version,
        "auroc": round(auroc(brand, plain), 4),
        "brand_mean": round(float(np.mean(brand)), 4),
        "brand_min": round(min(brand), 4),
        "plain_mean": round(float(np.mean(plain)), 4),
        "plain_max": round(max(plain), 4),
        "caution_brand_mean": round(float(np.mean([brand[i] for i in caution])), 4)
        if caution
        else None,
        "score_ms_p50": round(float(np.percentile(latency, 50)), 2),
        "spread_brand_by_topic": _rounded(spread_by_group(brand, topics)),
        "spread_plain_by_topic": _rounded(spread_by_group(plain, topics)),
    }


def _rounded(spread: dict[Any, dict[str, float]]) -> dict[str, dict[str, float]]:
    return {str(g): {k: round(v, 3) for k, v in s.items()} for g, s in spread.items()}


def engine_figures(scorer: ToneScorer, emb: Embedder) -> dict[str, Any]:
    """Scores of the real engine's answers to the golden questions (never seen in training)."""
    questions = [json.loads(ln)["question"] for ln in SAMPLE_GOLDEN.read_text().splitlines() if ln]
    with tempfile.TemporaryDirectory() as tmp:
        index = ChunkIndex(Path(tmp) / "lancedb")
        Ingester(index, emb).run(SAMPLE_DOCS)
        engine = AnswerEngine(
            Searcher(index, emb), ExtractiveComposer(), tone=scorer.bind(emb.encode)
        )
        answers = [engine.answer(Question(q)) for q in questions]
    scored = [a for a in answers if a.tone_score is not None]
    scores = [a.tone_score for a in scored]
    tone_ms = [a.timings_ms["tone_ms"] for a in scored]
    return {
        "golden_questions": len(questions),
        "answered_and_scored": len(scored),
        "mean": round(float(np.mean(scores)), 4) if scores else None,
        "max": round(max(scores), 4) if scores else None,
        "above_0.5": sum(s > 0.5 for s in scores),
        "tone_ms_p50": round(float(np.percentile(tone_ms, 50)), 2) if tone_ms else None,
    }


def shift_figures() -> dict[str, Any]:
    """False alarms on faithful pairs; hits on caution outputs given the cheerful frame."""
    examples = load_examples(EXAMPLES)
    drafts = [e.input for e in examples]
    outputs = [e.output for e in examples]
    flagged = sentiment_shifts(drafts, outputs)
    caution = [e for e in examples if e.caution]
    cheerful = [_cheerful(e.output) for e in caution]
    hits = sentiment_shifts([e.input for e in caution], cheerful)
    return {
        "pairs": len(examples),
        "faithful_flagged": len(flagged),
        "faithful_flagged_caution": sum(examples[i].caution for i in flagged),
        "caution_pairs": len(caution),
        "cheerful_frame_flagged": len(hits),
        "note": "cheerful frame = caution output with the normal opener and sign-off swapped in",
    }


def _cheerful(text: str) -> str:
    lines = text.strip().split("\n")
    lines[0], lines[-1] = "Hey there! 👋", "Happy building! 🌊"
    return "\n".join(lines)


def vader_figures(data_dir: Path | None) -> dict[str, Any]:
    folder = _vader_data(data_dir)
    if folder is None:
        return {"skipped": "hutto_ICWSM_2014 data not found and the sdist could not be fetched"}
    out: dict[str, Any] = {"source": "vaderSentiment 3.3.2 sdist, hutto_ICWSM_2014"}
    for name in VADER_SETS:
        path = folder / f"{name}_GroundTruth.txt"
        if not path.is_file():
            continue
        human, vader = [], []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.rstrip("\r").split("\t", 2)
            if len(parts) == 3:
                human.append(float(parts[1]))
                vader.append(sentiment(parts[2]))
        out[name] = {"n": len(human), "pearson_r": round(float(np.corrcoef(human, vader)[0, 1]), 4)}
    return out


def _vader_data(given: Path | None) -> Path | None:
    """The folder with the *_GroundTruth.txt files, fetching the sdist once if needed."""
    base = given or DATA / "vader"
    found = sorted(base.rglob("tweets_GroundTruth.txt")) if base.is_dir() else []
    if found:
        return found[0].parent
    if given is not None:
        return None
    base.mkdir(parents=True, exist_ok=True)
    log("fetching the vaderSentiment 3.3.2 sdist for its human-rated data")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    try:
        subprocess.run(
            [*cmd, "vaderSentiment==3.3.2", "-d", str(base)],
            check=True,
            capture_output=True,
            timeout=180,
        )
        with tarfile.open(next(base.glob("vaderSentiment-3.3.2.tar.gz"))) as sdist:
            inner = next(
                m for m in sdist.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz")
            )
            sdist.extract(inner, base, filter="data")
        with tarfile.open(base / inner.name) as data:
            data.extractall(base, filter="data")
    except (subprocess.SubprocessError, OSError, StopIteration, tarfile.TarError) as exc:
        log(f"VADER data unavailable: {exc}")
        return None
    found = sorted(base.rglob("tweets_GroundTruth.txt"))
    return found[0].parent if found else None


def main() -> None:
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--vader-data", type=Path, help="folder holding the *_GroundTruth.txt files")
    p.add_argument("--no-engine", action="store_true", help="skip indexing + golden answers")
    args = p.parse_args()
    emb = embedder(Embedder)
    log("fitting on the train split")
    scorer, figures = scorer_figures(emb)
    log(f"auroc {figures['auroc']}, brand {figures['brand_mean']}, plain {figures['plain_mean']}")
    result: dict[str, Any] = {"scorer": figures}
    if not args.no_engine:
        log("indexing the sample docs and answering the golden questions")
        result["engine_answers"] = engine_figures(scorer, emb)
    result["sentiment_shift"] = shift_figures()
    log("VADER vs human ratings")
    result["vader"] = vader_figures(args.vader_data)

    def text() -> str:
        s = result["scorer"]
        lines = [
            f"tone scorer {s['scorer_version']}: fit on {s['train_pairs']} pairs in {s['fit_s']} s",
            f"  eval {s['eval_pairs']} pairs: AUROC {s['auroc']} (goal ≥ 0.95)",
            f"  brand outputs mean {s['brand_mean']} (min {s['brand_min']}, goal ≥ 0.8)",
            f"  plain drafts  mean {s['plain_mean']} (max {s['plain_max']}, goal ≤ 0.3)",
            f"  scoring one text p50 {s['score_ms_p50']} ms",
            "  brand mean by topic: "
            + ", ".join(f"{g} {v['mean']:.2f}" for g, v in s["spread_brand_by_topic"].items()),
        ]
        if "engine_answers" in result:
            e = result["engine_answers"]
            lines.append(
                f"engine answers to {e['golden_questions']} golden questions: "
                f"{e['answered_and_scored']} scored, mean {e['mean']}, max {e['max']}, "
                f"{e['above_0.5']} above 0.5, "
                f"tone_ms p50 {e['tone_ms_p50']}"
            )
        sh = result["sentiment_shift"]
        lines.append(
            f"sentiment shift: {sh['faithful_flagged']}/{sh['pairs']} faithful pairs flagged, "
            f"{sh['cheerful_frame_flagged']}/{sh['caution_pairs']} cheerful-framed cautions flagged"
        )
        v = result["vader"]
        if "skipped" in v:
            lines.append(f"VADER: skipped ({v['skipped']})")
        else:
            lines.append(
                "VADER vs human ratings, Pearson r: "
                + ", ".join(
                    f"{k} {x['pearson_r']} (n={x['n']})" for k, x in v.items() if k != "source"
                )
            )
        return "\n".join(lines)

    emit(result, args.json, text)


if __name__ == "__main__":
    main()
