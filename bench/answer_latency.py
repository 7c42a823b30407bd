"""Answer latency of the whole engine against a bare embed + LanceDB vector search.

Index (bench/_data/latency/index.lancedb, rebuilt each run): the 33 sample docs ingested for
real, plus ~20k filler chunks written through `ChunkIndex.replace_documents` (real schema, real
FTS index, compacted like the ingester does). Filler text recombines 8–14 sentences drawn
from a pool of real git-doc/sqlite3-doc sentences; embedding 20k chunks is ~30 min on this
CPU, so instead each pool sentence is embedded once (cached) and a filler chunk's vector is
the normalised sum of the vectors of two of its own sentences: vectors live in the model's
space and stay related to the chunk's text, so vector and full-text candidates look real.

Questions: the sample golden set and both Debian FAQ sets (82), each asked as written, in a
casual lower-case form and wrapped in chat pleasantries (246 questions), for `--passes`
passes. Engine and baseline alternate per question (which goes first alternates too).
Diagnostics afterwards time each retriever alone and query embedding on 1 vs 2 threads.

    python bench/answer_latency.py [--json] [--filler 20000] [--passes 2]
                                   [--fusion passage_weight=0] [--reuse-index]

`--fusion` (fields of `FusionConfig` over the defaults) adds a third path: the same engine with
that search setting, timed in the same rotation, so a search change is costed within one run.
`--reuse-index` keeps an index left by an earlier run when it holds more than `--filler` rows
(the sample docs plus the filler, which is deterministic) instead of rebuilding it (~minutes).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from _common import THREADS, embedder, emit, log, parser, pct, progress_printer
from _corpus import DATA, EVAL, SAMPLE_GOLDEN, kb_corpus, sample_corpus
from faq_retrieval import parse_fusion

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine
from askdesk.core.types import Question
from askdesk.retrieval.chunking import chunk_document
from askdesk.retrieval.documents import stable_hash
from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.folder_scan import scan_folder
from askdesk.retrieval.index import ChunkIndex, ChunkRow
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.loaders import load_document
from askdesk.retrieval.passages import chunk_passages
from askdesk.retrieval.search import Searcher, fts_query

GOAL_RATIO = 1.5
GOAL_P50_MS = 80.0
POOL = 4000
WARMUP = 20
SEED = 7
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


# -- filler -----------------------------------------------------------------------------------
def sentence_pool() -> tuple[list[str], list[tuple[str, str]]]:
    """Real prose sentences (8–40 words) and (title, heading) pairs from both Debian manuals."""
    sentences: set[str] = set()
    labels: list[tuple[str, str]] = []
    for name in ("git", "sqlite3"):
        root = kb_corpus(name)
        files, _ = scan_folder(root)
        for f in files:
            for c in chunk_document(load_document(f.path, root)):
                labels.append((c.title, c.heading))
                for s in _SPLIT.split(" ".join(c.text.split())):
                    if 8 <= len(s.split()) <= 40 and "```" not in s:
                        sentences.add(s)
    rng = random.Random(SEED)
    return rng.sample(sorted(sentences), min(POOL, len(sentences))), labels


def pool_vectors(emb: Embedder, pool: list[str]) -> np.ndarray:
    key = hashlib.sha256("\n".join(pool).encode()).hexdigest()[:16]
    cache = DATA / "latency" / f"pool-{key}.npy"
    if cache.exists():
        return np.load(cache)
    log(f"embedding {len(pool)} pool sentences once (cached in {cache.name})")
    t = time.perf_counter()
    vecs = emb.encode(pool)
    log(f"pool embedded in {time.perf_counter() - t:.0f}s")
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vecs)
    return vecs


def add_filler(index: ChunkIndex, emb: Embedder, n: int, per_doc: int = 10) -> dict[str, Any]:
    pool, labels = sentence_pool()
    vecs = pool_vectors(emb, pool)
    rng = random.Random(SEED)
    rows: list[ChunkRow] = []
    blocks: list[tuple[str, int, np.ndarray]] = []
    doc_ids: list[str] = []
    t = time.perf_counter()
    written = 0
    for i in range(n):
        doc = f"filler/{i // per_doc:05d}.txt"
        if i % per_doc == 0:
            doc_ids.append(doc)
            title = labels[rng.randrange(len(labels))][0]
        heading = labels[rng.randrange(len(labels))][1]
        picks = rng.sample(range(len(pool)), rng.randint(8, 14))
        text = " ".join(pool[j] for j in picks)
        v = vecs[picks[0]] + vecs[picks[1]]
        chash = stable_hash(f"{title} > {heading}\n{text}", length=32)
        # passage vectors as the indexer stores them: one per block, here a pool sentence's
        for b in range(len(chunk_passages(text))):
            blocks.append((chash, b, vecs[picks[b % len(picks)]]))
        rows.append(
            ChunkRow(
                chunk_id=stable_hash(doc, chash, "0"),
                doc_id=doc,
                doc_hash="filler:" + stable_hash(doc),
                ordinal=i % per_doc,
                title=title,
                heading=heading,
                text=text,
                content_hash=chash,
                format="txt",
                vector=(v / np.linalg.norm(v)).astype(np.float32),
            )
        )
        if (len(doc_ids) == 200 and (i + 1) % per_doc == 0) or i == n - 1:
            index.replace_documents(doc_ids, rows)
            index.passages.add(blocks)
            written += len(rows)
            rows, doc_ids, blocks = [], [], []
            log(f"filler: {written}/{n} rows written")
    index.ensure_text_index()
    index.passages.ensure_index()
    index.compact()
    return {
        "filler_chunks": n,
        "pool_sentences": len(pool),
        "write_s": round(time.perf_counter() - t, 1),
    }


# -- questions --------------------------------------------------------------------------------
def questions() -> list[str]:
    base: list[str] = []
    for path in (SAMPLE_GOLDEN, EVAL / "sqlite3_faq.jsonl", EVAL / "git_faq.jsonl"):
        base += [json.loads(x)["question"] for x in path.read_text().splitlines() if x.strip()]
    casual = [re.sub(r"[?`.!]+", "", q).lower().strip() for q in base]
    chatty = [f"hi all, quick one: {q} thanks in advance!" for q in base]
    return base + casual + chatty


# -- timing -----------------------------------------------------------------------------------
def ms(t: float) -> float:
    return (time.perf_counter() - t) * 1000


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--filler", type=int, default=20000)
    p.add_argument("--passes", type=int, default=2)
    p.add_argument("--fusion", default="", help="a third path: the engine with this setting")
    p.add_argument("--reuse-index", action="store_true", help="keep an earlier run's index")
    args = p.parse_args()

    emb = embedder(Embedder)
    index, build = build_index(emb, args.filler, args.reuse_index)
    engine = AnswerEngine(Searcher(index, emb), ExtractiveComposer())
    alt_engine = (
        AnswerEngine(Searcher(index, emb, parse_fusion(args.fusion)), ExtractiveComposer())
        if args.fusion
        else None
    )
    qs = questions()
    paths = Paths(engine, alt_engine, emb, index)
    log(f"warm-up: {WARMUP} questions through each path")
    for q in qs[:WARMUP]:
        paths.ask_engine(q)
        paths.ask_bare(q)
        if alt_engine is not None:
            paths.ask_alt(q)
    samples = timed_passes(paths, qs, args.passes)
    diag = diagnostics(engine, emb, index, qs)
    figures = summarize(build, engine, qs, samples, diag, args.fusion)
    emit(figures, args.json, lambda: report_text(figures, len(qs), args.passes, args.fusion))


def build_index(emb: Embedder, filler: int, reuse: bool) -> tuple[ChunkIndex, dict[str, Any]]:
    """The sample docs plus `filler` chunks of FAQ sentences (or an earlier run's index)."""
    folder = DATA / "latency" / "index.lancedb"
    index = ChunkIndex(folder)
    kept = reuse and index.exists() and index.count() > filler
    if kept:
        total = index.count()
        build: dict[str, Any] = {
            "reused": True,
            "filler_chunks": filler,
            "real_chunks": total - filler,
            "total_chunks": total,
        }
    else:
        shutil.rmtree(folder, ignore_errors=True)
        index = ChunkIndex(folder)
        log("ingesting the sample docs")
        Ingester(index, emb).run(sample_corpus(), progress=progress_printer("sample", 30.0))
        real = index.count()
        build = add_filler(index, emb, filler)
        build.update(real_chunks=real, total_chunks=index.count())
    stats = index.table.index_stats("text_idx")  # the FTS index must cover the filler rows
    build["fts_indexed_rows"] = stats.num_indexed_rows if stats else 0
    build["fts_unindexed_rows"] = stats.num_unindexed_rows if stats else 0
    log(f"index: {build}")
    return index, build


TIMED = ("embed_ms", "search_ms", "passages_ms", "compose_ms")


@dataclass
class Paths:
    """The paths a question is timed through: the engine, the bare baseline (embed + vector
    search), and optionally the engine with another fusion setting."""

    engine: AnswerEngine
    alt_engine: AnswerEngine | None
    emb: Embedder
    index: ChunkIndex

    def ask_engine(self, q: str) -> tuple[float, dict[str, float], bool]:
        t = time.perf_counter()
        a = self.engine.answer(Question(q, platform="bench"))
        return ms(t), a.timings_ms, a.unanswered

    def ask_alt(self, q: str) -> float:
        assert self.alt_engine is not None
        t = time.perf_counter()
        self.alt_engine.answer(Question(q, platform="bench"))
        return ms(t)

    def ask_bare(self, q: str) -> tuple[float, float, float]:
        t = time.perf_counter()
        vec = self.emb.encode_query(q)
        t_embed = ms(t)
        t2 = time.perf_counter()
        self.index.vector_search(vec, 10)
        return ms(t), t_embed, ms(t2)


@dataclass
class Samples:
    eng: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    alt: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(
        default_factory=lambda: {k: [] for k in (*TIMED, "untimed_ms", "total_ms")}
    )
    bare_parts: dict[str, list[float]] = field(
        default_factory=lambda: {"embed_ms": [], "vector_search_ms": []}
    )
    unanswered: int = 0


def timed_passes(paths: Paths, qs: list[str], passes: int) -> Samples:
    """Every question through every path, `passes` times; each path goes first in turn."""
    out = Samples()
    n = 0
    for pas in range(passes):
        for i, q in enumerate(qs):
            names = (
                ["engine", "bare", "alt"] if paths.alt_engine is not None else ["engine", "bare"]
            )
            turn = (i + pas) % len(names)
            for which in names[turn:] + names[:turn]:  # each path goes first in turn
                if which == "engine":
                    wall, tm, un = paths.ask_engine(q)
                    out.eng.append(wall)
                    out.unanswered += un
                    for k in (*TIMED, "total_ms"):
                        out.parts[k].append(tm.get(k, 0.0))
                    untimed = tm["total_ms"] - sum(tm.get(k, 0.0) for k in TIMED)
                    out.parts["untimed_ms"].append(untimed)
                elif which == "alt":
                    out.alt.append(paths.ask_alt(q))
                else:
                    wall, e, s = paths.ask_bare(q)
                    out.bare.append(wall)
                    out.bare_parts["embed_ms"].append(e)
                    out.bare_parts["vector_search_ms"].append(s)
            n += 1
            if n % 100 == 0:
                log(f"{n}/{len(qs) * passes} questions")
    return out


def diagnostics(
    engine: AnswerEngine, emb: Embedder, index: ChunkIndex, qs: list[str]
) -> dict[str, list[float]]:
    """Where the engine's time goes: each retriever alone at the engine's depth, the vector
    search without fetching the stored vectors, and query embedding on 1 vs 2 torch threads."""
    # optional: torch (askdesk[torch]) — the thread-count comparison of the torch embedder
    import torch

    depth = engine.searcher.fusion.candidates
    cols = ["chunk_id", "doc_id", "ordinal", "title", "heading", "text", "_distance"]
    diag: dict[str, list[float]] = {
        "vector_search@depth": [],
        "vector_search@depth_no_vector_column": [],
        "text_search@depth": [],
        "vector_search@10": [],
        "engine.versions()": [],
        "encode_query_threads=2": [],
        "encode_query_threads=1": [],
    }
    log("diagnostics on 100 questions")
    for q in qs[:100]:
        vec = emb.encode_query(q)
        t = time.perf_counter()
        index.vector_search(vec, depth)
        diag["vector_search@depth"].append(ms(t))
        t = time.perf_counter()
        index.table.search(vec, query_type="vector").distance_type("cosine").limit(depth).select(
            cols
        ).to_list()
        diag["vector_search@depth_no_vector_column"].append(ms(t))
        t = time.perf_counter()
        index.vector_search(vec, 10)
        diag["vector_search@10"].append(ms(t))
        t = time.perf_counter()
        index.text_search(fts_query(q), depth)
        diag["text_search@depth"].append(ms(t))
        t = time.perf_counter()
        engine.versions()
        diag["engine.versions()"].append(ms(t))

    # query embedding on 1 vs 2 torch threads: blocks of 25 questions, alternating, the first
    # call after each switch dropped (set_num_threads resizes the thread pool)
    for block in range(8):
        threads = 2 if block % 2 == 0 else 1
        torch.set_num_threads(threads)
        for j, q in enumerate(qs[block * 25 : block * 25 + 26]):
            t = time.perf_counter()
            emb.encode_query(q)
            if j:
                diag[f"encode_query_threads={threads}"].append(ms(t))
    torch.set_num_threads(THREADS)
    return {k.replace("depth", str(depth)): v for k, v in diag.items()}


def summarize(
    build: dict[str, Any],
    engine: AnswerEngine,
    qs: list[str],
    samples: Samples,
    diag: dict[str, list[float]],
    fusion: str,
) -> dict[str, Any]:
    eng, bare, alt = samples.eng, samples.bare, samples.alt
    e50, b50 = pct(eng)["p50"], pct(bare)["p50"]
    e95, b95 = pct(eng)["p95"], pct(bare)["p95"]
    figures: dict[str, Any] = {
        "threads": THREADS,
        "index": build,
        "fusion": asdict(engine.searcher.fusion),
        "questions": len(qs),
        "samples_per_path": len(eng),
        "engine_unanswered_rate": round(samples.unanswered / len(eng), 3),
        "engine_ms": pct(eng),
        "baseline_ms": pct(bare),
        "ratio_p50": round(e50 / b50, 3),
        "ratio_p95": round(e95 / b95, 3),
        "engine_breakdown_ms": {k: pct(v) for k, v in samples.parts.items()},
        "baseline_breakdown_ms": {k: pct(v) for k, v in samples.bare_parts.items()},
        "diagnostics_ms": {k: pct(v) for k, v in diag.items()},
        "goal": {"ratio_p50_max": GOAL_RATIO, "p50_max_ms": GOAL_P50_MS},
        "goal_met": {"ratio": e50 / b50 <= GOAL_RATIO, "p50": e50 <= GOAL_P50_MS},
    }
    if alt:
        a50 = pct(alt)["p50"]
        figures["alt"] = {
            "fusion": fusion,
            "ms": pct(alt),
            "ratio_p50": round(a50 / b50, 3),
            "engine_over_alt_p50": round(e50 / a50, 3),
        }
    return figures


def report_text(figures: dict[str, Any], questions: int, passes: int, fusion: str) -> str:
    build = figures["index"]
    e50, e95 = figures["engine_ms"]["p50"], figures["engine_ms"]["p95"]
    b50, b95 = figures["baseline_ms"]["p50"], figures["baseline_ms"]["p95"]
    lines = [
        f"index: {build['real_chunks']} real + {build['filler_chunks']} filler = "
        f"{build['total_chunks']} chunks; {questions} questions × {passes} passes; "
        f"threads={THREADS}",
        f"engine   p50 {e50:.1f} ms  p95 {e95:.1f} ms",
        f"baseline p50 {b50:.1f} ms  p95 {b95:.1f} ms",
        f"ratio p50 {e50 / b50:.2f}×  p95 {e95 / b95:.2f}×  (goal ≤ {GOAL_RATIO}× and p50 ≤ "
        f"{GOAL_P50_MS:.0f} ms: {figures['goal_met']})",
        f"engine unanswered rate {figures['engine_unanswered_rate']}",
        f"alt ({fusion}): {figures.get('alt')}",
        "engine breakdown (p50/p95 ms): "
        + ", ".join(
            f"{k} {v['p50']}/{v['p95']}" for k, v in figures["engine_breakdown_ms"].items()
        ),
        "baseline breakdown (p50/p95 ms): "
        + ", ".join(
            f"{k} {v['p50']}/{v['p95']}" for k, v in figures["baseline_breakdown_ms"].items()
        ),
        "diagnostics (p50/p95 ms): "
        + ", ".join(f"{k} {v['p50']}/{v['p95']}" for k, v in figures["diagnostics_ms"].items()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
