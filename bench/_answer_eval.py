"""Issue 19's answer-level comparison: the composer beside the plain paragraph rule, one run.

The plain rule is what the embedding model's own ranking gives with no rules at all: embed every
paragraph (blank-line separated, headings dropped) of a page, take the one with the highest
MiniLM cosine to the question, add the page's following paragraphs and cut the text at the word
budget. It is applied to three page sets per question:
- `rule_cited`: the page the composer cites first (the composer's own retrieval and page choice);
- `rule_top3`: the composer's top 3 retrieved pages;
- `rule_right`: the page that holds the answer (what the model's ranking allows at best).

Each question is searched once (`Retrieved`: hits, context, query vector); every composer variant
(budgets, ablations) composes from the same retrieval, so a variant costs milliseconds.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _pickles
import numpy as np

from askdesk.core import compose as c
from askdesk.core.answerability import DecisionModel
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import EngineConfig
from askdesk.core.evaluation import token_f1, useful_at_05
from askdesk.core.types import Composition, Question
from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.search import Searcher, SearchHit

MIN_CONFIDENCE = EngineConfig().min_confidence  # the engine's own gate
K = 5  # chunks composed (EngineConfig.k)
RETRIEVE_K = 10


def page_paragraphs(text: str) -> list[str]:
    """A page's paragraphs as the plain rule sees them: blank-line separated, headings dropped."""
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return [p for p in paras if not p.startswith("#")]


class PlainRule:
    """The paragraph with the highest cosine to the question plus the following paragraphs of
    its page, cut at `budget` words, over a given set of pages."""

    def __init__(self, pages: dict[str, str], emb: Embedder) -> None:
        self.emb = emb
        self.paras: dict[str, list[str]] = {d: page_paragraphs(t) for d, t in pages.items()}
        flat = [(d, i) for d, ps in self.paras.items() for i in range(len(ps))]
        vecs = emb.encode([self.paras[d][i] for d, i in flat]) if flat else np.zeros((0, 1))
        self.vectors: dict[str, np.ndarray] = {}
        for d in self.paras:
            rows = [j for j, (dd, _) in enumerate(flat) if dd == d]
            self.vectors[d] = vecs[rows] if rows else np.zeros((0, vecs.shape[1]))

    def answer(
        self, query_vector: np.ndarray, docs: Sequence[str], budget: int
    ) -> tuple[str, float]:
        """(answer, its paragraph's cosine); ("", -1) when none of the pages is known."""
        best: tuple[float, str, int] | None = None
        for d in dict.fromkeys(docs):
            v = self.vectors.get(d)
            if v is None or not len(v):
                continue
            sims = v @ query_vector
            i = int(np.argmax(sims))
            if best is None or sims[i] > best[0]:
                best = (float(sims[i]), d, i)
        if best is None:
            return "", -1.0
        words = " ".join(self.paras[best[1]][best[2] :]).split()
        return " ".join(words[:budget]), best[0]


@dataclass
class Retrieved:
    """One question's search, done once for every composer variant."""

    question: str
    reference: str
    right_doc: str
    hits: list[SearchHit]  # ranked hits (RETRIEVE_K)
    passages: list[SearchHit]  # the first K with their context, as the engine composes
    query_vector: np.ndarray | None
    unmatched: tuple[str, ...] | None

    @property
    def confidence(self) -> float:
        return max((h.similarity for h in self.hits[:3]), default=0.0)

    @property
    def retrieved_docs(self) -> list[str]:
        return list(dict.fromkeys(h.doc_id for h in self.hits if not h.neighbour))


def retrieve(
    searcher: Searcher,
    items: Sequence[tuple[str, str, str]],
    cache: Path | None = None,
    fresh: bool = False,
) -> list[Retrieved]:
    """Each question searched once; with `cache` (a file under the gitignored bench/_data) the
    searches of the same questions are read back, so a composer change is measured in
    seconds. `fresh` (`--fresh`) searches anew: after a change to retrieval or the pages."""
    if cache is not None and cache.is_file() and not fresh:
        with cache.open("rb") as f:
            stored = _pickles.load(f)["retrieved"]
        if [(r.question, r.reference, r.right_doc) for r in stored] == [tuple(i) for i in items]:
            # the passages may have been cut anew since (askdesk.retrieval.passages.VERSION): the
            # search is the same, the blocks' vectors are read from the index as it is now
            hashes = list({h.content_hash for r in stored for h in r.passages if h.content_hash})
            vectors = searcher.index.passages.vectors(hashes) if hashes else {}
            for r in stored:
                for h in r.passages:
                    h.passage_vectors = vectors.get(h.content_hash)
            return stored
    out = _retrieve(searcher, items)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with cache.open("wb") as f:
            pickle.dump({"retrieved": out}, f)
    return out


def _retrieve(searcher: Searcher, items: Sequence[tuple[str, str, str]]) -> list[Retrieved]:
    out = []
    for question, reference, right in items:
        res = searcher.search(question, RETRIEVE_K)
        ctx = searcher.context(res.hits[:K])
        out.append(
            Retrieved(
                question, reference, right, res.hits, ctx, res.query_vector, res.unmatched_terms
            )
        )
    return out


def always(composer: ExtractiveComposer) -> ExtractiveComposer:
    """The same composer answering every question (its decision still computed, for `decide`)."""
    composer.decision = DecisionModel(
        dict(composer.decision.weights), composer.decision.bias + 99.0, composer.decision.threshold
    )
    return composer


def compose(composer: ExtractiveComposer, r: Retrieved) -> Composition:
    return composer.compose(
        Question(r.question, platform="eval"), r.passages, r.query_vector, r.unmatched
    )


def answered(c: Composition, r: Retrieved, model: DecisionModel | None = None) -> bool:
    """The engine's verdict for this composition under `model` (default: the shipped one)."""
    if r.confidence < MIN_CONFIDENCE or not c.text or c.decision is None:
        return False
    return (model or DecisionModel()).probability(c.decision.features) >= (
        model or DecisionModel()
    ).threshold


def score(answer: str, reference: str) -> tuple[float, float]:
    f1, _ = token_f1(answer, reference)
    return (1.0 if useful_at_05(answer, reference) else 0.0), f1


def summary(rows: list[tuple[float, float]], answered_share: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "useful@0.5": round(float(np.mean([r[0] for r in rows])), 3) if rows else 0.0,
        "f1": round(float(np.mean([r[1] for r in rows])), 3) if rows else 0.0,
    }
    if answered_share is not None:
        out["answered"] = round(answered_share, 3)
    return out


def compare(
    retrieved: list[Retrieved],
    rule: PlainRule,
    make: Callable[[], ExtractiveComposer],
    budget: int,
) -> dict[str, Any]:
    """The composer (as shipped: declines score 0) and the three plain-rule columns."""
    composer = always(make())
    rows: dict[str, list[tuple[float, float]]] = {
        k: [] for k in ("composer", "selection", "rule_cited", "rule_top3", "rule_right")
    }
    n_answered = 0
    wins = {"composer_only": 0, "rule_only": 0}
    for r in retrieved:
        c = compose(composer, r)
        ok = answered(c, r)
        n_answered += ok
        sel = score(c.text, r.reference) if c.text else (0.0, 0.0)
        rows["selection"].append(sel)
        rows["composer"].append(sel if ok else (0.0, 0.0))
        cited = c.sources[0].path if c.sources else (r.retrieved_docs or [""])[0]
        assert r.query_vector is not None
        rc = score(rule.answer(r.query_vector, [cited], budget)[0], r.reference)
        rows["rule_cited"].append(rc)
        rows["rule_top3"].append(
            score(rule.answer(r.query_vector, r.retrieved_docs[:3], budget)[0], r.reference)
        )
        rows["rule_right"].append(
            score(rule.answer(r.query_vector, [r.right_doc], budget)[0], r.reference)
        )
        wins["composer_only"] += int(sel[0] > rc[0])
        wins["rule_only"] += int(rc[0] > sel[0])
    out: dict[str, Any] = {"questions": len(retrieved)}
    for k, v in rows.items():
        out[k] = summary(v, n_answered / len(retrieved) if k == "composer" else None)
    out["useful_where_other_not"] = wins
    return out


def selection_only(
    retrieved: list[Retrieved], make: Callable[[], ExtractiveComposer]
) -> dict[str, Any]:
    """useful@0.5 / F1 of the composer's quote with every question answered (ablations)."""
    composer = always(make())
    rows = []
    for r in retrieved:
        c = compose(composer, r)
        rows.append(score(c.text, r.reference) if c.text else (0.0, 0.0))
    return summary(rows)


# Each scoring feature and window rule of the composer, and the module constants that turn
# it off (askdesk.core.compose reads them at compose time).
ABLATIONS: dict[str, dict[str, Any]] = {
    "lexical weight": {"LEXICAL_WEIGHT": 0.0},
    "exact-term weight": {"EXACT_WEIGHT": 0.0},
    "search-order prior": {"DOC_PRIOR": (0.0, 0.0, 0.0)},
    "code penalty": {"CODE_PENALTY": 0.0},
    "short-block penalty": {"SHORT_BLOCK_PENALTY": 0.0},
    "related continuation": {"RELATED_MARGIN": -1.0},
    "list/table above starts": {"BACK_MARGIN": -1.0},
    "paragraph stretch": {"PARAGRAPH_STRETCH": 1.0},
    "5 docs (3 instead)": {"MAX_DOCS": 3},
    "whole answer block (issue 19)": {"WHOLE_BLOCK": False},
    "part judged with its answer (19)": {"WHOLE_WEIGHT": 0.0},
    "…only answers ≤ 200 words (19)": {"WHOLE_MAX_WORDS": 10**6},
    "answer start within 1 budget (19)": {"BLOCK_LEAD": 0.5},
    "no reach back over a blank line (19)": {"SAME_BLOCK_BACK": False},
    "answer runs on after a chunk's code (19)": {"CODE_BOUNDARY_JOIN": False},
    "second close answer (issue 19)": {"SECOND_MARGIN": 0.0},
    "topic continuation (issue 19)": {"TOPIC_COSINE": 9.0},
    "cut last sentence with … (19)": {"CUT_LAST": False},
}
_ORIGINAL: dict[str, Any] = {}


def ablated(feature: str) -> ExtractiveComposer:
    """A default composer with `feature` off (\"default\": everything on)."""
    for key, value in _ORIGINAL.items():
        setattr(c, key, value)
    if feature != "default":
        for key, value in ABLATIONS[feature].items():
            if hasattr(c, key):
                _ORIGINAL.setdefault(key, getattr(c, key))
                setattr(c, key, value)
    return ExtractiveComposer()
