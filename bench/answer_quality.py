"""Answer quality on real FAQ data: does the answer quote the part of the page that answers,
and does the bot decline what the docs don't cover?

Sets (bench/_faq_sets.py, built from ../shared/eval as its README says): the construction,
sqlite3 and git FAQs as answer-level pages (~7 answers a page, no question text), plus the
packaged Tidewire golden set. Each set is indexed for real (LanceDB under bench/_data/answers,
incremental) and every question is answered three ways in the same run:
- `before`: the extractive composer as it was before issue 10 (bench/_composer_before.py)
  behind the old top-cosine confidence threshold;
- `askdesk`: the engine as configured by default now (search, context, composer, decision);
- `naive`: embed every paragraph of the set, take the one most similar to the question and
  grow it with the page's following paragraphs up to the same word budget.
Scores: useful@0.5 (the answer holds at least half of the reference's content words) and
SQuAD token F1 against the FAQ answer; a declined answer scores 0 on both.

Answerability: the construction pages of two thirds of the sections are indexed; their
questions must be answered, those of the held-out third (near-topic) and the git/sqlite3
questions (foreign) declined. The naive baseline declines below a paragraph-cosine threshold
set, generously, on the very questions scored (to answer 0.95 of the in-scope ones).

    python bench/answer_quality.py [--json] [--sets construction_faq_en,sqlite3_faq,...]
    python bench/answer_quality.py --adapter [--fit]   # the per-KB query adapter experiment
    python bench/answer_quality.py --decline [--json]  # the shipped decline decision's refit
    python bench/answer_quality.py --fusion passage_weight=0   # another search setting

`--decline` (bench/_decline.py) fits the decision on the pooled construction, Perl and Z shell
scope sets, leaving one set out, beside plain top-cosine / top-score baselines, and prints the
weights and bias core/answerability.py ships (the "+ block cosine" subset at the gate of
askdesk.core.engine.EngineConfig).

`--fusion` (fields of `FusionConfig` over the defaults, as in faq_retrieval.py) searches with
that setting instead of the default; its searches are cached apart (`retrieved-<setting>/`), so
a run with and one without it compare two rankings on the same composer.

`--adapter` trains a query adapter on each set's own passages (bench/_query_adapter.py: inverse
cloze task, no labels) and adds `adapted` (the selection scored with the adapted question
vector) beside `selection` and `naive`; with `--fit` it refits the decision on adapted features.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import _answer_eval as _eval
import _decline
import _query_adapter
import numpy as np
from _common import THREADS, DiskCacheEmbedder, embedder, emit, log, parser
from _composer_before import ComposerBefore
from _corpus import DATA, SAMPLE_DOCS, SAMPLE_GOLDEN
from _faq_sets import DEV_FAQS, FOREIGN, FaqSet, build, scope_sets
from faq_retrieval import parse_fusion
from sklearn.linear_model import LogisticRegression

from askdesk.core.answerability import FEATURES, PROBES, DecisionModel, calibrate
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine, EngineConfig
from askdesk.core.evaluation import load_golden
from askdesk.core.types import Question
from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import FusionConfig, Searcher
from askdesk.upkeep.calibrate import probe_features

ROOT = DATA / "answers"
SEARCH = {"fusion": FusionConfig(), "cache": ROOT / "retrieved"}  # --fusion sets both


def searcher_for(index: ChunkIndex, emb: Embedder) -> Searcher:
    return Searcher(index, emb, SEARCH["fusion"])


BUDGET = 110  # words: the composer's default max_words
OLD_MIN_CONFIDENCE = 0.25


def index_folder(name: str, folder: Path, emb: Embedder) -> ChunkIndex:
    index = ChunkIndex(ROOT / f"{name}.lancedb")
    t = time.perf_counter()
    report = Ingester(index, emb).run(folder)
    log(
        f"{name}: {index.count()} chunks ({report.chunks_embedded} chunks and "
        f"{report.passages_embedded} passages embedded in {time.perf_counter() - t:.1f}s)"
    )
    return index


def paragraphs(pages: dict[str, str]) -> list[tuple[str, int, str]]:
    """(doc_id, position, text) of every paragraph of every page, headings dropped."""
    out = []
    for doc_id, text in pages.items():
        paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        paras = [p for p in paras if not p.startswith("#")]
        out += [(doc_id, i, p) for i, p in enumerate(paras)]
    return out


class Naive:
    """The most similar paragraph by cosine, grown with the page's next paragraphs."""

    def __init__(self, pages: dict[str, str], emb: Embedder) -> None:
        self.paras = paragraphs(pages)
        self.emb = emb
        self.vectors = emb.encode([p for _, _, p in self.paras])

    def best(self, question: str) -> tuple[str, float]:
        sims = self.vectors @ self.emb.encode_query(question)
        i = int(np.argmax(sims))
        doc, _pos, text = self.paras[i]
        words = len(text.split())
        parts = [text]
        for d, _p, t in self.paras[i + 1 :]:
            if d != doc or words + len(t.split()) > BUDGET:
                break
            parts.append(t)
            words += len(t.split())
        return "\n\n".join(parts), float(sims[i])


class AdaptedComposer(ExtractiveComposer):
    """The default composer scoring blocks with the adapted question vector."""

    def __init__(self, w: np.ndarray, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.w = w

    def compose(  # type: ignore[override]
        self,
        question: Question,
        hits: Any,
        query_vector: np.ndarray | None = None,
        unmatched_terms: Any = None,
    ) -> Any:
        vec = None if query_vector is None else _query_adapter.apply(self.w, query_vector)
        return super().compose(question, hits, vec, unmatched_terms)


def adapter(index: ChunkIndex, emb: Embedder, name: str) -> np.ndarray:
    """The set's own adapter, trained from its passages (timed, with its ICT accuracy)."""
    t = time.perf_counter()
    blocks = _query_adapter.kb_blocks(index)
    q, p, src = _query_adapter.ict_pairs(blocks, emb)
    t_pairs = time.perf_counter() - t
    t = time.perf_counter()
    w, before, after = _query_adapter.train(q, p, src, np.stack([b.vector for b in blocks]))
    log(
        f"{name}: adapter from {len(blocks)} blocks, {len(q)} pairs (embedded in {t_pairs:.1f}s, "
        f"trained in {time.perf_counter() - t:.1f}s); held-out ICT top-1 {before:.3f} -> "
        f"{after:.3f}, |W-I| {np.linalg.norm(w - np.eye(len(w))):.2f}"
    )
    return w


def engines(
    index: ChunkIndex, emb: Embedder, w: np.ndarray | None = None
) -> dict[str, AnswerEngine]:
    searcher = searcher_for(index, emb)
    before = AnswerEngine(
        searcher,
        ComposerBefore(max_words=BUDGET),
        config=EngineConfig(min_confidence=OLD_MIN_CONFIDENCE, answer_context=False),
    )
    always = ExtractiveComposer(decision=DecisionModel(bias=99.0))
    out = {
        "before": before,
        "askdesk": AnswerEngine(searcher, ExtractiveComposer()),
        # the same selection with every question answered: quality of the quote alone
        "selection": AnswerEngine(searcher, always, config=EngineConfig(min_confidence=0.0)),
    }
    if w is not None:
        adapted = AdaptedComposer(w, decision=DecisionModel(bias=99.0))
        out["adapted"] = AnswerEngine(searcher, adapted, config=EngineConfig(min_confidence=0.0))
    return out


def answerability(emb: Embedder) -> dict[str, Any]:
    kb, held, foreign = scope_sets()
    folder = kb.write(ROOT / "pages" / "scope")
    index = index_folder("scope", folder, emb)
    eng = engines(index, emb)
    naive = Naive(kb.pages, emb)
    groups = {"in_scope": kb.items, "held_out": held, "foreign": foreign}
    declined: dict[str, dict[str, list[bool]]] = {
        k: {} for k in eng if k not in ("selection", "adapted")
    }
    sims: dict[str, list[float]] = {}
    for group, items in groups.items():
        for key, engine in eng.items():
            if key in ("selection", "adapted"):
                continue
            declined[key][group] = [
                engine.answer(Question(i.question, platform="eval")).unanswered for i in items
            ]
        sims[group] = [naive.best(i.question)[1] for i in items]
    threshold = float(np.quantile(sims["in_scope"], 0.05))
    out: dict[str, Any] = {
        "questions": {g: len(v) for g, v in groups.items()},
        "naive_threshold": round(threshold, 3),
    }
    for key in (*declined, "naive"):
        if key == "naive":
            per = {g: [s < threshold for s in v] for g, v in sims.items()}
        else:
            per = declined[key]
        out[key] = {
            "answered_in_scope": round(1 - float(np.mean(per["in_scope"])), 3),
            "declined_held_out": round(float(np.mean(per["held_out"])), 3),
            "declined_foreign": round(float(np.mean(per["foreign"])), 3),
            "declined_unanswerable": round(float(np.mean(per["held_out"] + per["foreign"])), 3),
        }
    return out


def features(engine: AnswerEngine, question: str) -> dict[str, float] | None:
    """The decision features of the composer's chosen passage (None: nothing retrieved)."""
    res = engine.searcher.search(question, engine.config.k)
    hits = engine.searcher.context(res.hits)
    c = engine.composer.compose(Question(question), hits, res.query_vector, res.unmatched_terms)
    return c.decision.features if c.decision else None


def fit(emb: Embedder, *, adapted: bool = False) -> dict[str, Any]:
    """Fit the answerability model on the construction scope split (`adapted`: on the
    features of the selection scored with the scope KB's own query adapter, and report the
    plain, adapted and plain + adapted-cosine feature sets side by side)."""
    kb, held, foreign = scope_sets()
    index = index_folder("scope", kb.write(ROOT / "pages" / "scope"), emb)
    engine = engines(index, emb)["askdesk"]
    plain = engines(index, emb)["askdesk"]
    adapter_w = adapter(index, emb, "scope") if adapted else None
    if adapter_w is not None:
        engine.composer = AdaptedComposer(adapter_w)
    X: list[list[float]] = []
    X_plain: list[list[float]] = []  # with the adapter: the plain selection's features too
    y: list[int] = []
    for label, items in ((1, kb.items), (0, held + foreign)):
        for it in items:
            f = features(engine, it.question)
            fp = features(plain, it.question) if adapter_w is not None else f
            if f is not None and fp is not None:
                X.append([f[k] for k in FEATURES])
                X_plain.append([fp[k] for k in FEATURES])
                y.append(label)
    x = np.asarray(X)
    by_features: dict[str, float] = {}
    if adapter_w is not None:
        xp, cos = np.asarray(X_plain), FEATURES.index("cosine")
        compared = {
            "plain": xp,
            "adapted": x,
            "plain_plus_adapted_cosine": np.hstack([xp, x[:, [cos]]]),
        }
        by_features = {k: _declined_at_95(v, y) for k, v in compared.items()}
    mu, sd = x.mean(0), x.std(0) + 1e-9
    model = LogisticRegression(C=1.0, max_iter=1000).fit((x - mu) / sd, y)
    w = model.coef_[0] / sd
    b = float(model.intercept_[0] - (model.coef_[0] * mu / sd).sum())
    weights = {k: round(float(v), 3) for k, v in zip(FEATURES, w, strict=True)}
    z = x @ w + b
    yy = np.asarray(y)
    thr = float(np.quantile(z[yy == 1], 0.05))  # answers 0.95 of the in-scope questions
    out = {
        "declined_at_95_answered": round(float(np.mean(z[yy == 0] < thr)), 3),
        "weights": weights,
        "bias": round(b, 3),
        "z_at_95": round(thr, 3),
        "fit_answered": round(float(np.mean(z[yy == 1] >= 0)), 3),
        "fit_declined": round(float(np.mean(z[yy == 0] < 0)), 3),
    }
    if by_features:  # the decision on each feature set, the selection plain or adapted
        out["declined_at_95_by_features"] = by_features
    # the share of "page held out" probes this model accepts on the dev KB: the target every
    # other KB's calibration brings its own probes to
    # (askdesk.core.answerability.PROBE_ACCEPT_TARGET)

    model = DecisionModel(weights, round(b - thr, 3))
    composer = (
        AdaptedComposer(adapter_w, decision=model)
        if adapter_w is not None
        else ExtractiveComposer(decision=model)
    )

    def probe(question: str, doc_id: str) -> dict[str, float] | None:
        res = engine.searcher.search(question, 5, exclude_docs=[doc_id])
        hits = engine.searcher.context(res.hits)
        c = composer.compose(Question(question), hits, res.query_vector, res.unmatched_terms)
        return c.decision.features if c.decision and c.text else None

    cal = calibrate(index.sample(PROBES), probe, model, index_version=None, embed_model="dev")
    out["bias_at_95"] = round(b - thr, 3)
    out["probe_accept_at_95"] = cal.accepted_before if cal else None
    log(f"fit: {out}")
    return out


def _declined_at_95(x: np.ndarray, y: list[int]) -> float:
    """Share of label-0 rows below the threshold that keeps 0.95 of label-1 rows, for a
    logistic decision fitted in-sample on the standardised features `x`."""
    xs = (x - x.mean(0)) / (x.std(0) + 1e-9)
    z = LogisticRegression(C=1.0, max_iter=1000).fit(xs, y).decision_function(xs)
    yy = np.asarray(y)
    return round(float(np.mean(z[yy == 0] < np.quantile(z[yy == 1], 0.05))), 3)


def sample_scope(emb: Embedder) -> dict[str, Any]:
    """The packaged Tidewire docs and golden set: a KB nobody tuned on, with its unanswerable
    questions marked; the default decision next to the one calibrated on these docs."""
    index = index_folder("tidewire", SAMPLE_DOCS, emb)
    golden = load_golden(SAMPLE_GOLDEN)
    searcher = searcher_for(index, emb)
    base = DecisionModel()
    cal = calibrate(
        index.sample(PROBES),
        probe_features(searcher, ExtractiveComposer(decision=base), 5),
        base,
        index_version=index.version,
        embed_model=emb.model_name,
    )
    models = {"default": base, "calibrated": cal.model(base) if cal else base}
    out: dict[str, Any] = {"shift": cal.shift if cal else None}
    for name, model in models.items():
        engine = AnswerEngine(searcher, ExtractiveComposer(decision=model))
        un = [engine.answer(Question(g.question)).unanswered for g in golden]
        out[name] = {
            "answered_answerable": round(
                1
                - float(
                    np.mean([u for u, g in zip(un, golden, strict=True) if not g.unanswerable])
                ),
                3,
            ),
            "declined_unanswerable": round(
                float(np.mean([u for u, g in zip(un, golden, strict=True) if g.unanswerable])), 3
            ),
        }
    before = engines(index, emb)["before"]
    un = [before.answer(Question(g.question)).unanswered for g in golden]
    out["before"] = {
        "answered_answerable": round(
            1 - float(np.mean([u for u, g in zip(un, golden, strict=True) if not g.unanswerable])),
            3,
        ),
        "declined_unanswerable": round(
            float(np.mean([u for u, g in zip(un, golden, strict=True) if g.unanswerable])), 3
        ),
    }
    log(f"sample scope: {out}")
    return out


def scope_level(name: str, emb: Embedder, fresh: bool = False) -> dict[str, Any]:
    """One dev set's answerability: its in-scope pages indexed, its held-out pages' questions
    and a foreign FAQ's asked; the shipped decision, and the curve (declined vs answered) as
    the decision's bias moves."""
    kb, held, foreign = scope_sets(name)
    index = index_folder(f"scope-{name}", kb.write(ROOT / "pages" / f"scope-{name}"), emb)
    searcher = searcher_for(index, emb)
    composer = _eval.always(ExtractiveComposer())
    model = DecisionModel()
    z: dict[str, list[float]] = {}
    for group, items in (("in_scope", kb.items), ("held_out", held), ("foreign", foreign)):
        rs = _eval.retrieve(
            searcher,
            [(i.question, i.answer, i.doc_id) for i in items],
            SEARCH["cache"] / f"scope-{name}-{group}.pkl",
            fresh=fresh,
        )
        zs = []
        for r in rs:
            c = _eval.compose(composer, r)
            if r.confidence < _eval.MIN_CONFIDENCE or not c.text or c.decision is None:
                zs.append(-99.0)
            else:
                f = c.decision.features
                zs.append(model.bias + sum(model.weights.get(k, 0.0) * v for k, v in f.items()))
        z[group] = zs
    zi, zo = np.asarray(z["in_scope"]), np.asarray(z["held_out"] + z["foreign"])
    out: dict[str, Any] = {
        "questions": {g: len(v) for g, v in z.items()},
        "answered_in_scope": round(float(np.mean(zi >= 0)), 3),
        "declined_held_out": round(float(np.mean(np.asarray(z["held_out"]) < 0)), 3),
        "declined_foreign": round(float(np.mean(np.asarray(z["foreign"]) < 0)), 3),
        "declined_out_of_scope": round(float(np.mean(zo < 0)), 3),
    }
    curve = []
    for share in (0.80, 0.85, 0.90, 0.95, 0.98):
        thr = float(np.quantile(zi, 1 - share))
        curve.append({"answered": share, "declined": round(float(np.mean(zo < thr)), 3)})
    out["curve"] = curve
    log(f"scope {name}: {out}")
    return out


def answer_sets(
    names: list[str], emb: Embedder, budgets: list[int], ablate: bool, fresh: bool = False
) -> list[Any]:
    out = []
    for name in names:
        if name == "tidewire":
            index = index_folder("tidewire", SAMPLE_DOCS, emb)
            golden = [g for g in load_golden(SAMPLE_GOLDEN) if g.answer]
            pages = {
                str(p.relative_to(SAMPLE_DOCS)): p.read_text(encoding="utf-8", errors="replace")
                for p in SAMPLE_DOCS.rglob("*.md")
            }
            items = [(g.question, str(g.answer), _golden_doc(g)) for g in golden]
        else:
            faq: FaqSet = build(name)
            index = index_folder(name, faq.write(ROOT / "pages" / name), emb)
            pages = faq.pages
            items = [(i.question, i.answer, i.doc_id) for i in faq.items]
        rule = _eval.PlainRule(pages, emb)
        retrieved = _eval.retrieve(
            searcher_for(index, emb), items, SEARCH["cache"] / f"{name}.pkl", fresh=fresh
        )
        res: dict[str, Any] = {"set": name}
        for budget in budgets:
            res[f"at_{budget}"] = _eval.compare(
                retrieved, rule, lambda b=budget: ExtractiveComposer(max_words=b), budget
            )
        if ablate:
            res["ablation"] = {
                feat: _eval.selection_only(retrieved, lambda f=feat: _eval.ablated(f))
                for feat in ("default", *_eval.ABLATIONS)
            }
            _eval.ablated("default")
        log(f"{name}: {res}")
        out.append(res)
    return out


# the decision shipped before the pooled refit (main cb71cfd, fitted on construction only), kept
# to be measured beside the refit on the same questions
BEFORE_WEIGHTS = {
    "cosine": 3.717,
    "lexical": 0.892,
    "exact": 0.991,
    "top_similarity": 5.593,
    "margin": 4.337,
    "agreement": 0.687,
    "unmatched": -0.63,
}
BEFORE_BIAS = -5.223
SCOPE_FIT = ("construction_faq_en", "perlfaq", "zsh_faq")  # sqlite3 and git: foreign questions


def decision_rows(emb: Embedder) -> tuple[dict[str, list[Any]], dict[str, list[Any]], list[Any]]:
    """(scope rows per set, answer-level rows per dev set, Tidewire golden rows): every
    question's decision features with the composer answering all (searches cached)."""
    composer = _eval.always(ExtractiveComposer())

    def rows(
        searcher: Searcher, items: list[Any], cache: str, name: str, group: str, labels: list[int]
    ) -> list[Any]:
        rs = _eval.retrieve(searcher, items, SEARCH["cache"] / cache)
        out = []
        for r, label in zip(rs, labels, strict=True):
            c = _eval.compose(composer, r)
            composed = bool(c.text) and c.decision is not None
            out.append(
                _decline.Row(
                    name,
                    group,
                    label,
                    composed,
                    (dict(c.decision.features) | _decline.search_extras(r.hits))
                    if c.decision
                    else {},
                    r.confidence,
                    r.hits[0].score if r.hits else 0.0,
                )
            )
        return out

    scope: dict[str, list[Any]] = {}
    for name in SCOPE_FIT:
        kb, held, foreign = scope_sets(name)
        index = index_folder(f"scope-{name}", kb.write(ROOT / "pages" / f"scope-{name}"), emb)
        searcher = searcher_for(index, emb)
        scope[name] = []
        for group, its, label in (
            ("in_scope", kb.items, 1),
            ("held_out", held, 0),
            ("foreign", foreign, 0),
        ):
            items = [(i.question, i.answer, i.doc_id) for i in its]
            scope[name] += rows(
                searcher, items, f"scope-{name}-{group}.pkl", name, group, [label] * len(items)
            )
    answer: dict[str, list[Any]] = {}
    for name in DEV_FAQS:
        faq = build(name)
        index = index_folder(name, faq.write(ROOT / "pages" / name), emb)
        items = [(i.question, i.answer, i.doc_id) for i in faq.items]
        answer[name] = rows(
            searcher_for(index, emb), items, f"{name}.pkl", name, "answer", [1] * len(items)
        )
    index = index_folder("tidewire", SAMPLE_DOCS, emb)
    golden = load_golden(SAMPLE_GOLDEN)
    items = [(g.question, str(g.answer or ""), _golden_doc(g)) for g in golden]
    tide = rows(
        searcher_for(index, emb),
        items,
        "tidewire-golden.pkl",
        "tidewire",
        "golden",
        [0 if g.unanswerable else 1 for g in golden],
    )
    return scope, answer, tide


def probe_accept(emb: Embedder) -> dict[str, float | None]:
    """The share of "page held out" probes the default decision accepts on each dev scope KB:
    what a KB's opt-in calibration brings its own probes to (PROBE_ACCEPT_TARGET)."""
    out: dict[str, float | None] = {}
    for name in SCOPE_FIT:
        index = index_folder(f"scope-{name}", ROOT / "pages" / f"scope-{name}", emb)
        searcher = searcher_for(index, emb)
        features = probe_features(searcher, ExtractiveComposer(), 5)
        cal = calibrate(
            index.sample(PROBES), features, DecisionModel(), index_version=None, embed_model="dev"
        )
        out[name] = cal.accepted_before if cal else None
    return out


def decline_study(emb: Embedder) -> dict[str, Any]:
    """`--decline`: the decision refitted on the pooled dev scope sets (leave one set out),
    beside the shipped model and the plain baselines; the operating point to ship."""
    scope, answer, tide = decision_rows(emb)
    with_tide = {**scope, "tidewire": tide}
    # the model shipped before this refit, behind the gate it shipped with
    _decline.GATE = OLD_MIN_CONFIDENCE
    shipped_w, shipped_b = dict(BEFORE_WEIGHTS), BEFORE_BIAS
    out: dict[str, Any] = {
        "before": {
            n: {
                "curve": _decline.model_curve(r, shipped_w, shipped_b),
                "at_default": _decline.judge(r, shipped_w, shipped_b),
            }
            for n, r in with_tide.items()
        }
        | {
            f"answer {n}": {"at_default": _decline.judge(r, shipped_w, shipped_b)}
            for n, r in answer.items()
        },
        "baselines": {n: _decline.baseline_curves(r) for n, r in with_tide.items()},
    }
    out["probe_accept"] = probe_accept(emb)
    for gate in dict.fromkeys((OLD_MIN_CONFIDENCE, EngineConfig().min_confidence)):
        _decline.GATE = gate
        out[f"gate_{gate}"] = _decline.study(scope, answer, tide)
    log(f"decline: {out}")
    return out


def _golden_doc(g: Any) -> str:
    return g.sources[0] if g.sources else ""


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sets", default=",".join((*DEV_FAQS, "tidewire")))
    p.add_argument("--budgets", default="110", help="word budgets, comma-separated")
    p.add_argument("--ablate", action="store_true", help="each composer feature on and off")
    p.add_argument(
        "--fresh", action="store_true", help="search anew (after a change to chunking or search)"
    )
    p.add_argument("--no-scope", action="store_true", help="skip the answerability sets")
    p.add_argument("--fit", action="store_true", help="fit the answerability model and stop")
    p.add_argument(
        "--decline",
        action="store_true",
        help="refit the decline decision on the pooled dev scope sets (leave one set out), "
        "beside the shipped model and the plain baselines, and stop",
    )
    p.add_argument(
        "--adapter", action="store_true", help="add the per-KB query adapter (experiment)"
    )
    p.add_argument("--fusion", default="", help="search with this setting, e.g. passage_weight=0")
    args = p.parse_args()
    if args.fusion:
        SEARCH["fusion"] = parse_fusion(args.fusion)
        tag = re.sub(r"[^\w.=-]+", "_", args.fusion)
        SEARCH["cache"] = ROOT / f"retrieved-{tag}"
    emb = embedder(DiskCacheEmbedder)
    if args.decline:
        figures = decline_study(emb)
        emit(figures, args.json, lambda: str(figures))
        return
    if args.fit:
        figures = fit(emb, adapted=args.adapter)
        emit(figures, args.json, lambda: str(figures))
        return
    names = args.sets.split(",")
    budgets = [int(b) for b in args.budgets.split(",")]
    figures: dict[str, Any] = {"threads": THREADS, "budgets": budgets}
    figures["sets"] = answer_sets(names, emb, budgets, args.ablate, args.fresh)
    if not args.no_scope:
        figures["scope"] = {n: scope_level(n, emb, args.fresh) for n in names if n in FOREIGN}
        figures["sample_answerability"] = sample_scope(emb)
    emit(figures, args.json, lambda: _text(figures))


def _text(f: dict[str, Any]) -> str:
    keys = ("composer", "selection", "rule_cited", "rule_top3", "rule_right")
    lines = ["useful@0.5 / token F1 (composer: answered share; declines score 0)"]
    for budget in f["budgets"]:
        lines.append(f"\n-- budget {budget} words")
        lines.append(f"{'set':<22}{'n':>5}" + "".join(f"{k:>20}" for k in keys))
        for s in f["sets"]:
            r = s[f"at_{budget}"]
            cols = []
            for k in keys:
                v = r[k]
                extra = f" a{v['answered']:.2f}" if "answered" in v else ""
                cols.append(f"{v['useful@0.5']:.3f}/{v['f1']:.3f}{extra}")
            lines.append(f"{s['set']:<22}{r['questions']:>5}" + "".join(f"{c:>20}" for c in cols))
    if any("ablation" in s for s in f["sets"]):
        feats = list(next(s for s in f["sets"] if "ablation" in s)["ablation"])
        lines.append("\nablation (selection, every question answered): useful@0.5 / F1")
        lines.append(f"{'off':<26}" + "".join(f"{s['set'][:14]:>16}" for s in f["sets"]))
        for feat in feats:
            cols = [
                f"{s['ablation'][feat]['useful@0.5']:.3f}/{s['ablation'][feat]['f1']:.3f}"
                for s in f["sets"]
            ]
            lines.append(f"{feat:<26}" + "".join(f"{c:>16}" for c in cols))
    for name, sc in (f.get("scope") or {}).items():
        lines.append(f"\nscope {name}: {sc}")
    if f.get("sample_answerability"):
        lines.append(f"\nsample (Tidewire) answerability: {f['sample_answerability']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
