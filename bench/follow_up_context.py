"""Follow-ups with and without their conversation: second-turn hit@5 and useful@0.5.

The set is bench/follow_ups.jsonl (built by bench/_follow_ups.py: the Tidewire sample docs and
the construction, sqlite3 and git FAQ pages; a first question, then an elliptical second one
whose answer is on the same page). Each second turn is answered, in the same run, by the same
search and composer given different text (askdesk.core.conversation builds the askdesk one):
- `alone`: the follow-up as typed, no context (the naive baseline);
- `glued`: the last question and the follow-up glued together for the search, the composer
  scoring blocks against the follow-up (what askdesk did before issue 21);
- `glued_both`: the glued text for the search and the composer;
- `askdesk`: the engine given the first turn as history (askdesk.core.conversation): an elliptical
  follow-up fused into one standalone question (searched and composed, the composer's vector
  leaning away from the first question), a self-contained one as typed;
- `full` (FAQ sets only): the FAQ's own wording of the second question, alone: the ceiling a
  perfect rewrite could reach.
A declined answer scores 0. The `switch` control asks a self-contained question about another
page after each first turn: context must not pull the old page back (hit@5 of the new page).

    python bench/follow_up_context.py [--json] [--sets tidewire,sqlite3_faq,git_faq,...]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _common import THREADS, MemoEmbedder, embedder, emit, log, parser
from _corpus import SAMPLE_DOCS
from _faq_sets import DEV_FAQS, build
from _follow_ups import load
from answer_quality import ROOT, index_folder

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine
from askdesk.core.evaluation import hit_rank, useful_at_05
from askdesk.core.types import AnswerTrace, Question, Turn
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.search import Searcher

Strategy = Callable[[str, str], tuple[str, str]]  # (first, follow-up) → (searched, composed)
STRATEGIES: dict[str, Strategy] = {
    "alone": lambda first, follow: (follow, follow),
    "glued": lambda first, follow: (f"{first} {follow}", follow),
    "glued_both": lambda first, follow: (f"{first} {follow}", f"{first} {follow}"),
}
ASKDESK = "askdesk"  # the engine itself, the first turn as the conversation's history


def second_turn(engine: AnswerEngine, searched: str, composed: str) -> tuple[list[str], str]:
    """(ranked documents, answer text or "" when declined): the engine's own stages, with the
    search and the composer given the texts under test."""
    result = engine.searcher.search(searched, engine.config.retrieve_k)
    ranked: list[str] = []
    for h in result.hits:
        if h.doc_id not in ranked:
            ranked.append(h.doc_id)
    if max((h.similarity for h in result.hits[:3]), default=0.0) < engine.config.min_confidence:
        return ranked, ""
    c = engine._compose(Question(composed, platform="eval"), AnswerTrace(searched, result))
    return ranked, c.text if c.answerable else ""


def answer(engine: AnswerEngine, key: str, first: str, follow: str) -> tuple[list[str], str]:
    if key == ASKDESK:
        ans = engine.answer(Question(follow, platform="eval", history=(Turn(first, ""),)))
        return ans.retrieved, "" if ans.unanswered else ans.text
    return second_turn(engine, *STRATEGIES[key](first, follow))


def run_set(name: str, rows: list[dict[str, Any]], engine: AnswerEngine) -> dict[str, Any]:
    keys = [*STRATEGIES, ASKDESK, *(["full"] if rows[0]["full"] else [])]
    hits: dict[str, list[float]] = {k: [] for k in keys}
    useful: dict[str, list[float]] = {k: [] for k in keys}
    for row in rows:
        refs = tuple(row["sources"])
        for key in keys:
            if key == "full":
                ranked, text = second_turn(engine, str(row["full"]), str(row["full"]))
            else:
                ranked, text = answer(engine, key, str(row["first"]), str(row["follow_up"]))
            rank = hit_rank(ranked, refs)
            hits[key].append(1.0 if rank is not None and rank <= 5 else 0.0)
            useful[key].append(1.0 if text and useful_at_05(text, str(row["answer"])) else 0.0)
    switch: dict[str, list[float]] = {k: [] for k in (*STRATEGIES, ASKDESK)}
    for i, row in enumerate(rows):  # the next row's first question, on another page
        other = next((r for r in rows[i + 1 :] + rows[:i] if r["sources"] != row["sources"]), None)
        if other is None:
            continue
        for key in switch:
            ranked, _ = answer(engine, key, str(row["first"]), str(other["first"]))
            rank = hit_rank(ranked, tuple(other["sources"]))
            switch[key].append(1.0 if rank is not None and rank <= 5 else 0.0)
    out: dict[str, Any] = {"set": name, "follow_ups": len(rows)}
    for key in keys:
        out[key] = {
            "hit@5": round(float(np.mean(hits[key])), 3),
            "useful@0.5": round(float(np.mean(useful[key])), 3),
        }
        if switch.get(key):
            out[key]["switch_hit@5"] = round(float(np.mean(switch[key])), 3)
    return out


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sets", default=",".join(("tidewire", *DEV_FAQS)))
    args = p.parse_args()
    emb = embedder(MemoEmbedder)
    data = load()
    figures: dict[str, Any] = {"threads": THREADS, "sets": []}
    for name in args.sets.split(","):
        rows = [r for r in data if r["set"] == name]
        if not rows:
            continue
        if name == "tidewire":
            index: ChunkIndex = index_folder("tidewire", SAMPLE_DOCS, emb)
        else:
            index = index_folder(name, build(name).write(ROOT / "pages" / name), emb)
        res = run_set(name, rows, AnswerEngine(Searcher(index, emb), ExtractiveComposer()))
        log(f"{name}: {res}")
        figures["sets"].append(res)
    total = sum(s["follow_ups"] for s in figures["sets"])
    figures["all"] = {
        key: {
            metric: round(sum(s[key][metric] * s["follow_ups"] for s in figures["sets"]) / total, 3)
            for metric in ("hit@5", "useful@0.5", "switch_hit@5")
        }
        for key in (*STRATEGIES, ASKDESK)
    }
    emit(figures, args.json, lambda: _text(figures))


def _text(f: dict[str, Any]) -> str:
    lines = ["set           strategy    hit@5  useful@0.5  switch hit@5"]
    for s in [*f["sets"], {"set": "all", **f["all"]}]:
        for key in (*STRATEGIES, ASKDESK, "full"):
            if key in s:
                v = s[key]
                sw = v.get("switch_hit@5")
                lines.append(
                    f"{s['set']:<13} {key:<10} {v['hit@5']:>6.3f} {v['useful@0.5']:>11.3f}"
                    + (f" {sw:>13.3f}" if sw is not None else "")
                )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
