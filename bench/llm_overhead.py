"""The LLM answer backend: askdesk's overhead around the model, and what the claim check keeps.

A scripted OpenAI-compatible server on 127.0.0.1 (askdesk/testing/fake_openai.py, the real `openai`
client unmodified) plays the model. For every question of the dev answer-level sets
(bench/_faq_sets.py: construction, sqlite3 and git FAQs as pages, no question text) it reads
the prompt it was sent and answers with the *reference answer*, each sentence cited with the
number of the passage that holds it, plus **one invented sentence** at a random place, cited
like the others. The invented sentence is realistic, one of three kinds (in turn, the next
kind when one does not apply):
- `number`: a reference sentence with one of its numbers changed (24 → 36, 2 → 3): the rest is
  copied word for word, so only the number gives it away;
- `name`: a reference sentence with a capitalised name swapped for a name that occurs in
  another answer of the set ("Stockholm" → "Gothenburg", "SQLite" → "MySQL");
- `borrowed`: a sentence of another answer on another page that carries a number or a name
  the cited passage does not have ("Delivery takes 6-8 weeks.").

Figures, in one run, through the real engine (real LanceDB index, real search):
- overhead = the answer's total latency minus the fake server's own time for that reply, p50
  and p95; beside it the extractive engine's total latency on the same questions (the
  baseline: what answering costs without a model), and the LLM composer's own share
  (compose time minus server time minus the extractive compose time);
- reference sentences kept and invented sentences removed, over the questions whose reference
  page was among the passages sent (elsewhere the reference is not in the passages, and
  dropping it is right), and per kind of invention.

Query vectors are cached after a first pass (both engines), so the latency figures measure
search + compose + check, not the embedding model on a shared machine; the first pass's
figures (with the query embedding) are reported beside them.

    python bench/llm_overhead.py [--json] [--sets construction_faq_en,sqlite3_faq,git_faq]
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path
from typing import Any

from _common import MemoEmbedder, embedder, emit, log, parser, pct
from _corpus import DATA
from _faq_sets import DEV_FAQS, FaqItem, FaqSet, build

from askdesk.core.claim_check import exact_tokens
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine
from askdesk.core.llm_compose import LLMComposer, LLMConfig
from askdesk.core.text_units import split_units, terms
from askdesk.core.types import Question
from askdesk.feedback.analytics import fallback_reason
from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import Searcher
from askdesk.testing.fake_openai import FakeOpenAI, Reply, prompt_passages, prompt_question

ROOT = DATA / "answers"  # shared with bench/answer_quality.py: the same pages and indexes
KINDS = ("number", "name", "borrowed")
_CITE = re.compile(r"\s*\[\d+\]")
_NUM = re.compile(r"(?<![\w.\[-])\d+(?![\w.\]]|-\d)")  # not in "git-config[1]", "UTF-8"
_NAME = re.compile(r"(?<=[a-z,] )([A-Z][a-z]{2,})\b")
_DOC = re.compile(r"^\[(\d+)\] .*\(([^()]+)\)$", re.M)


def index_folder(name: str, folder: Path, emb: Embedder) -> ChunkIndex:
    index = ChunkIndex(ROOT / f"{name}.lancedb")
    report = Ingester(index, emb).run(folder)
    log(f"{name}: {index.count()} chunks ({report.chunks_embedded} embedded now)")
    return index


def units(text: str) -> list[str]:
    """The reference answer's sentences as the page holds them (one line per paragraph)."""
    flat = re.sub(r"\n\s*\n+", "\n", text.strip())
    return [u.text for u in split_units(flat) if terms(u.text)]


def cite(sentence: str, n: int) -> str:
    s = sentence.rstrip()
    if s[-1:] in ".!?":
        return f"{s[:-1]} [{n}]{s[-1]}"
    return f"{s} [{n}]"


class Inventor:
    """Realistic invented sentences for one set: numbers changed, names swapped, sentences
    borrowed from other answers (never one the cited passage could support)."""

    def __init__(self, faq: FaqSet, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.items = faq.items
        self.names = sorted({m for it in faq.items for m in _NAME.findall(it.answer)})
        self.borrowable = [
            (it.doc_id, s)
            for it in faq.items
            for s in units(it.answer)
            if (_NUM.search(s) or _NAME.search(s)) and 6 <= len(s.split()) <= 30
        ]

    def invent(self, kind: str, item: FaqItem, passage: str) -> tuple[str, str] | None:
        low = passage.lower()
        sents = units(item.answer)
        if kind == "number":
            for s in self.rng.sample(sents, len(sents)):
                nums = [m for m in _NUM.finditer(s)]
                for m in nums:
                    n = int(m.group(0))
                    new = str(n + max(1, n // 2))  # 24 → 36, 2 → 3, 1 → 2
                    if not re.search(rf"(?<!\w){new}(?!\w)", low):
                        return "number", s[: m.start()] + new + s[m.end() :]
            return None
        if kind == "name":
            for s in self.rng.sample(sents, len(sents)):
                for m in _NAME.finditer(s):
                    options = [x for x in self.names if x.lower() not in low]
                    if options and terms(m.group(1)):
                        new = self.rng.choice(options)
                        return "name", s[: m.start()] + new + s[m.end() :]
            return None
        candidates = [
            s
            for doc, s in self.borrowable
            if doc != item.doc_id
            and any(
                not re.search(rf"(?<!\w){re.escape(t.lower())}(?!\w)", low) for t in exact_tokens(s)
            )
        ]
        return ("borrowed", self.rng.choice(candidates)) if candidates else None


def run_set(name: str, emb: MemoEmbedder, server: FakeOpenAI, state: dict[str, Any]) -> dict:
    faq = build(name)
    index = index_folder(name, faq.write(ROOT / "pages" / name), emb)
    searcher = Searcher(index, emb)
    inventor = Inventor(faq)
    by_question = {it.question: it for it in faq.items}
    plan: dict[str, dict[str, Any]] = {}

    def model(body: dict[str, Any]) -> Reply:
        """Read the prompt like a model would: cite the passage that holds the reference."""
        item = by_question.get(prompt_question(body))
        passages = prompt_passages(body)
        docs = {int(n): d for n, d in _DOC.findall(str(body["messages"][-1]["content"]))}
        if item is None or not passages:
            return Reply("Not in the docs.")
        known = plan.get(item.question)
        if known is None:
            n = next((k for k, d in docs.items() if d == item.doc_id), None)
            present = n is not None
            n = n or 1
            ref = units(item.answer)
            kinds = KINDS[state["i"] % 3 :] + KINDS[: state["i"] % 3]
            state["i"] += 1
            invented = next(
                (x for k in kinds if (x := inventor.invent(k, item, passages[n])) is not None),
                None,
            )
            lines = [cite(s, n) for s in ref]
            at = inventor.rng.randrange(len(lines) + 1)
            if invented is not None:
                lines.insert(at, cite(invented[1], n))
            known = {
                "present": present,
                "ref": ref,
                "invented": invented,
                "reply": " ".join(lines),
                "passages": passages,
                # a long answer may run past the passage's cut: only what was sent can be kept
                "ref_sent": [_norm(s) in _norm(passages[n]) for s in ref],
            }
            plan[item.question] = known
        return Reply(known["reply"])

    server.responder = model
    llm = AnswerEngine(
        searcher,
        LLMComposer(LLMConfig(server.base_url, "scripted", timeout_s=30), ExtractiveComposer()),
    )
    ext = AnswerEngine(searcher, ExtractiveComposer())
    rows = []
    for pass_no in (1, 2):  # pass 1 embeds the questions (cached for pass 2)
        for item in faq.items:
            served_before = len(server.serve_s)
            a = llm.answer(Question(item.question))
            called = len(server.serve_s) > served_before
            serve_ms = server.serve_s[-1] * 1000 if called else 0.0
            b = ext.answer(Question(item.question))
            rows.append(
                {
                    "pass": pass_no,
                    "question": item.question,
                    "called": called,
                    "total_ms": a.timings_ms["total_ms"],
                    "serve_ms": serve_ms,
                    "compose_ms": a.timings_ms.get("compose_ms", 0.0),
                    "ext_total_ms": b.timings_ms["total_ms"],
                    "ext_compose_ms": b.timings_ms.get("compose_ms", 0.0),
                    "composer": a.composer,
                    "note": a.composer_note,
                    "text": a.text,
                    "unanswered": a.unanswered,
                    "embed_ms": a.timings_ms.get("embed_ms", 0.0),
                }
            )
        log(f"{name}: pass {pass_no} done ({len(faq.items)} questions)")
    return {"rows": rows, "plan": plan}


def _norm(text: str) -> str:
    return " ".join(_CITE.sub("", text).lower().split())


def score(results: list[dict[str, Any]]) -> dict[str, Any]:
    ref_kept = ref_total = inv_removed = inv_total = 0
    ref_all_kept = ref_all = 0
    by_kind: dict[str, list[int]] = {k: [0, 0] for k in KINDS}
    fallbacks: dict[str, int] = {}
    not_called = 0
    for res in results:
        for row in (r for r in res["rows"] if r["pass"] == 2):
            plan = res["plan"].get(row["question"])
            if not row["called"] or plan is None:
                not_called += 1
                continue
            text = _norm(row["text"]) if row["composer"] != "extractive-2" else ""
            if row["composer"] == "extractive-2":
                key = fallback_reason(row["note"] or "")
                fallbacks[key] = fallbacks.get(key, 0) + 1
            kept = [_norm(s) in text for s in plan["ref"]]
            ref_all_kept += sum(kept)
            ref_all += len(kept)
            for was_kept, sent in zip(kept, plan["ref_sent"], strict=True):
                ref_kept += was_kept and sent
                ref_total += sent
            if plan["invented"] is not None:
                kind, sentence = plan["invented"]
                removed = _norm(sentence) not in text
                inv_removed += removed
                inv_total += 1
                by_kind[kind][0] += removed
                by_kind[kind][1] += 1
    return {
        "reference_kept": round(ref_kept / ref_total, 4) if ref_total else None,
        "reference_sentences": ref_total,
        "reference_sentences_not_in_passages": ref_all - ref_total,
        "reference_kept_all_sentences": round(ref_all_kept / ref_all, 4) if ref_all else None,
        "invented_removed": round(inv_removed / inv_total, 4) if inv_total else None,
        "invented_sentences": inv_total,
        "invented_removed_by_kind": {
            k: {"removed": v[0], "of": v[1]} for k, v in by_kind.items() if v[1]
        },
        "fallbacks": fallbacks,
        "model_not_called": not_called,
    }


def latency(results: list[dict[str, Any]], pass_no: int) -> dict[str, Any]:
    rows = [r for res in results for r in res["rows"] if r["pass"] == pass_no and r["called"]]
    overhead = [r["total_ms"] - r["serve_ms"] for r in rows]
    embed = [r["embed_ms"] for r in rows]
    own = [r["compose_ms"] - r["serve_ms"] - r["ext_compose_ms"] for r in rows]
    return {
        "questions": len(rows),
        "overhead_ms": pct(overhead),
        "extractive_total_ms": pct([r["ext_total_ms"] for r in rows]),
        "llm_composer_own_ms": pct(own),
        "server_ms": pct([r["serve_ms"] for r in rows]),
        "query_embed_ms": pct(embed),
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sets", default=",".join(DEV_FAQS))
    args = p.parse_args()
    emb = embedder(MemoEmbedder)
    results = []
    t = time.perf_counter()
    state = {"i": 0}
    with FakeOpenAI() as server:
        for name in args.sets.split(","):
            results.append(run_set(name, emb, server, state))
    figures = {
        "sets": args.sets.split(","),
        "latency_cached_query_vectors": latency(results, 2),
        "latency_first_pass": latency(results, 1),
        "check": score(results),
        "duration_s": round(time.perf_counter() - t, 1),
    }

    def text() -> str:
        c, lat, first = (
            figures["check"],
            figures["latency_cached_query_vectors"],
            figures["latency_first_pass"],
        )
        return "\n".join(
            [
                f"questions answered by the model: {lat['questions']}",
                f"overhead p50 {lat['overhead_ms']['p50']} ms, p95 {lat['overhead_ms']['p95']} ms"
                f" (extractive total p50 {lat['extractive_total_ms']['p50']} ms;"
                f" LLM composer's own p50 {lat['llm_composer_own_ms']['p50']} ms)",
                f"first pass (the LLM engine embeds the query, the extractive one reuses it): "
                f"overhead p50 {first['overhead_ms']['p50']} ms, of which query embedding p50 "
                f"{first['query_embed_ms']['p50']} ms",
                f"reference sentences kept {c['reference_kept']} of {c['reference_sentences']}"
                f" in the passages sent ({c['reference_sentences_not_in_passages']} more were"
                f" not in them; kept of all: {c['reference_kept_all_sentences']})",
                f"invented sentences removed {c['invented_removed']} of "
                f"{c['invented_sentences']} {c['invented_removed_by_kind']}",
                f"fallbacks {c['fallbacks']}, model not called {c['model_not_called']}",
            ]
        )

    emit(figures, args.json, text)


if __name__ == "__main__":
    main()
