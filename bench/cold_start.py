"""Cold start without torch: the onnxruntime embedder against the sentence-transformers one,
in one run, on this machine (issue 23).

`before` is the torch path (ASKDESK_EMBED_BACKEND=torch: sentence-transformers, as every
command ran until now); `after` is the default (onnxruntime on the cached ONNX export). The
two alternate within each measurement so a busy machine weighs on both alike.

1. Index throughput: each set (the Tidewire sample docs and the dev FAQ sets as answer-level
   pages, bench/_faq_sets.py) is ingested into a fresh LanceDB table by each backend
   (model already loaded): passages + chunks embedded per second of ingest.
2. Answers: every question of each set is answered three ways — torch on the torch-built index
   (today), onnx on that same index (an existing index kept), onnx on the onnx-built index (a
   fresh install) — and the answers (text and cited sources) compared.
3. Cold `askdesk ask`: a fresh interpreter per question on the sample index: wall time and
   peak RSS (wait4), medians over --reps runs of each backend.
4. Slack bot: `askdesk slack --http` against askdesk/testing/fake_slack.py: seconds from start
   until the port accepts connections, then from there until the first answer is posted.

    python bench/cold_start.py [--json] [--reps 3] [--sets tidewire,construction_faq_en,...]
    python bench/cold_start.py --answers-only [--sets ...]   # parts 1-2 only

Every answer that differs is listed with what explains it: the cosine between the two query
vectors and the two searches' top hits with their scores (a tie broken the other way shows as
equal scores in another order).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import THREADS, emit, log, parser
from _corpus import DATA, REPO, SAMPLE_DOCS, SAMPLE_GOLDEN
from _faq_sets import DEV_FAQS, build

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine
from askdesk.core.evaluation import load_golden
from askdesk.core.types import Question
from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import Searcher
from askdesk.testing.fake_slack import FakeSlackAPI
from askdesk.testing.lean_runs import free_port, run_cli, start_slack_http, wait_for_port
from askdesk.testing.slack_payloads import SlackSender, mention

WORK = DATA / "cold_start"
BACKENDS = ("torch", "onnx")


def questions_and_docs(name: str, pages: int) -> tuple[list[str], Path]:
    """The set's questions and a folder of its pages; `pages` > 0 keeps that many pages
    (in name order) and their questions, for a shorter run on a busy machine."""
    if name == "tidewire":
        return [g.question for g in load_golden(SAMPLE_GOLDEN)], SAMPLE_DOCS
    faq = build(name)
    if pages > 0:
        keep = set(sorted(faq.pages)[:pages])
        faq.pages = {k: v for k, v in faq.pages.items() if k in keep}
        faq.items = [i for i in faq.items if i.doc_id in keep]
    return [i.question for i in faq.items], faq.write(WORK / "pages" / name)


def ingest(folder: Path, data_dir: Path, emb: Embedder) -> tuple[ChunkIndex, int, float]:
    index = ChunkIndex(data_dir / "lancedb")
    t = time.perf_counter()
    report = Ingester(index, emb).run(folder)
    seconds = time.perf_counter() - t
    return index, report.chunks_embedded + report.passages_embedded, seconds


def answer_all(engine: AnswerEngine, questions: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    out = []
    for q in questions:
        a = engine.answer(Question(q, platform="bench", asker_id="bench"))
        out.append((a.text, tuple(f"{s.path}#{s.heading}" for s in a.sources)))
    return out


def _top(searcher: Searcher, question: str, k: int = 5) -> list[tuple[str, float]]:
    hits = searcher.search(question, k).hits
    return [(f"{h.doc_id}#{h.heading}#{h.ordinal}", round(float(h.score), 7)) for h in hits]


def explain(
    questions: list[str], today: list[Any], other: list[Any], torch_s: Searcher, other_s: Searcher
) -> list[dict[str, Any]]:
    """Each differing answer with the query-vector cosine and both searches' top hits."""
    out = []
    for q, a, b in zip(questions, today, other, strict=True):
        if a == b:
            continue
        qa, qb = torch_s.embedder.encode_query(q), other_s.embedder.encode_query(q)
        out.append({
            "question": q,
            "query_cosine": round(float(qa @ qb), 8),
            "today": {"text": a[0][:160], "sources": a[1], "top": _top(torch_s, q)},
            "other": {"text": b[0][:160], "sources": b[1], "top": _top(other_s, q)},
        })
    return out


def throughput_and_answers(
    sets: list[str], embedders: dict[str, Embedder], pages: int
) -> dict[str, Any]:
    texts = dict.fromkeys(BACKENDS, 0)
    seconds = dict.fromkeys(BACKENDS, 0.0)
    answers: dict[str, Any] = {}
    for n, name in enumerate(sets):
        questions, folder = questions_and_docs(name, pages)
        indexes = {}
        order = BACKENDS if n % 2 == 0 else BACKENDS[::-1]
        for backend in order:
            index, count, secs = ingest(folder, WORK / name / backend, embedders[backend])
            indexes[backend] = index
            texts[backend] += count
            seconds[backend] += secs
            log(f"{name}: {backend} embedded {count} texts in {secs:.1f}s")
        searchers = {
            "today": Searcher(indexes["torch"], embedders["torch"]),
            "kept": Searcher(indexes["torch"], embedders["onnx"]),
            "fresh": Searcher(indexes["onnx"], embedders["onnx"]),
        }
        got = {
            way: answer_all(AnswerEngine(s, ExtractiveComposer()), questions)
            for way, s in searchers.items()
        }
        today, kept, fresh = got["today"], got["kept"], got["fresh"]
        answers[name] = {
            "questions": len(questions),
            "identical_on_existing_index": sum(a == b for a, b in zip(today, kept, strict=True)),
            "identical_on_fresh_index": sum(a == b for a, b in zip(today, fresh, strict=True)),
            "differing": {
                way: explain(questions, today, got[way], searchers["today"], searchers[way])
                for way in ("kept", "fresh")
            },
        }
        log(f"{name}: {answers[name]['questions']} questions, "
            f"{answers[name]['identical_on_existing_index']} identical on the existing index, "
            f"{answers[name]['identical_on_fresh_index']} on a fresh one")
        for way, diffs in answers[name]["differing"].items():
            for d in diffs:
                log(f"{name}: differs ({way}): {json.dumps(d)}")
    rate = {b: texts[b] / seconds[b] for b in BACKENDS}
    return {
        "index": {
            "texts": texts,
            "seconds": {b: round(seconds[b], 1) for b in BACKENDS},
            "texts_per_s": {b: round(rate[b], 2) for b in BACKENDS},
            "ratio_after_before": round(rate["onnx"] / rate["torch"], 2),
        },
        "answers": answers,
    }


def env_for(backend: str) -> dict[str, str]:
    return {"ASKDESK_EMBED_BACKEND": backend, "ASKDESK_EMBED_THREADS": str(THREADS)}


def run_floor(data_dir: Path, question: str) -> tuple[float, float]:
    """bench/_cold_floor.py (LanceDB open and search, the ONNX encoder; no askdesk CLI) in a
    fresh interpreter under GNU time: (wall s, peak RSS MB, MB = 1024 KiB as run_cli)."""
    peak_file = data_dir.parent / f".floor-peak-{time.monotonic_ns()}"
    t = time.perf_counter()
    subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(peak_file), sys.executable,
         str(REPO / "bench" / "_cold_floor.py"), str(data_dir), question],
        check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    seconds = time.perf_counter() - t
    peak = int(peak_file.read_text().split()[-1]) / 1024
    peak_file.unlink(missing_ok=True)
    return seconds, peak


def cold_ask(
    data_dir: Path, questions: list[str], reps: int, before_tree: Path | None = None,
    floor: bool = False,
) -> dict[str, Any]:
    """`before_tree`: the torch baseline runs from that checkout (the code as it was), and
    so does an extra "onnx_before_tree", in the same rotation: a change to the lean path is
    measured against the torch baseline and against itself in one run. `floor`: the
    third-party work alone (bench/_cold_floor.py) joins the rotation too."""
    variants: dict[str, tuple[str, Path]] = {b: (b, REPO) for b in BACKENDS}
    if before_tree is not None:
        variants = {"torch": ("torch", before_tree), "onnx_before_tree": ("onnx", before_tree),
                    "onnx": ("onnx", REPO)}
    names = list(variants) + (["floor"] if floor else [])
    runs: dict[str, list[tuple[float, float]]] = {v: [] for v in names}
    answers: dict[str, set[str]] = {v: set() for v in variants}
    for rep in range(reps):
        q = questions[rep % len(questions)]
        for name in names[rep % len(names):] + names[:rep % len(names)]:
            if name == "floor":
                runs[name].append(run_floor(data_dir, q))
                log(f"cold ask floor: {runs[name][-1][0]:.2f}s, {runs[name][-1][1]:.0f} MB")
                continue
            backend, root = variants[name]
            r = run_cli(data_dir, "ask", q, "--json", importtime=False,
                        root=root, **env_for(backend))
            if r.returncode != 0:
                raise SystemExit(f"askdesk ask failed ({name}): {r.said[-500:]}")
            runs[name].append((r.seconds, r.peak_rss_mb or 0.0))
            answers[name].add(_answer_key(q, r.stdout))
            log(f"cold ask {name}: {r.seconds:.2f}s, {r.peak_rss_mb:.0f} MB")
    med = {v: (statistics.median(s for s, _ in runs[v]), statistics.median(m for _, m in runs[v]))
           for v in names}
    out = {
        "reps": reps,
        "wall_s": {v: round(med[v][0], 2) for v in names},
        "peak_rss_mb": {v: round(med[v][1]) for v in names},
        "wall_ratio": round(med["onnx"][0] / med["torch"][0], 2),
        "rss_ratio": round(med["onnx"][1] / med["torch"][1], 2),
        "answers_identical": len({frozenset(a) for a in answers.values()}) == 1,
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    if floor:
        out["rss_ratio_floor"] = round(med["floor"][1] / med["torch"][1], 2)
        out["wall_ratio_floor"] = round(med["floor"][0] / med["torch"][0], 2)
    if before_tree is not None:
        out["before_tree"] = str(before_tree)
        out["wall_ratio_before_tree"] = round(med["onnx_before_tree"][0] / med["torch"][0], 2)
        out["rss_ratio_before_tree"] = round(med["onnx_before_tree"][1] / med["torch"][1], 2)
    return out


def _answer_key(question: str, stdout: str) -> str:
    """The answer text and cited sources of `askdesk ask --json` (not its timings)."""
    a = json.loads(stdout)
    return json.dumps([question, a.get("answer"), [(s.get("path"), s.get("heading"))
                                                 for s in a.get("sources", [])]])


def first_start(data_dir: Path, question: str) -> dict[str, Any]:
    """`askdesk ask` on a data dir without the export yet: the one-off export included."""
    fresh = WORK / "first-start" / "data"
    shutil.rmtree(fresh.parent, ignore_errors=True)
    fresh.mkdir(parents=True)
    shutil.copytree(data_dir / "lancedb", fresh / "lancedb")
    r = run_cli(fresh, "ask", question, importtime=False, **env_for("onnx"))
    return {"wall_s": round(r.seconds, 2), "peak_rss_mb": round(r.peak_rss_mb or 0)}


def slack_first_answer(data_dir: Path, question: str, reps: int) -> dict[str, Any]:
    runs: dict[str, list[tuple[float, float, float]]] = {b: [] for b in BACKENDS}
    with FakeSlackAPI() as api:
        for rep in range(reps):
            for backend in BACKENDS if rep % 2 == 0 else BACKENDS[::-1]:
                port = free_port()
                t0 = time.perf_counter()
                bot = start_slack_http(data_dir, api.base_url, port, **env_for(backend))
                try:
                    wait_for_port(port)
                    ready = time.perf_counter()
                    event = mention(question)
                    SlackSender(f"http://127.0.0.1:{port}/slack/events").event(event)
                    end = time.monotonic() + 120
                    while not api.posts_in(event["ts"]) and time.monotonic() < end:
                        time.sleep(0.01)
                    answered = time.perf_counter()
                    if not api.posts_in(event["ts"]):
                        raise SystemExit(f"no Slack answer ({backend})")
                finally:
                    bot.stop()
                runs[backend].append((ready - t0, answered - ready, bot.peak_rss_mb or 0.0))
                log(f"slack {backend}: port after {ready - t0:.2f}s, "
                    f"first answer {answered - ready:.2f}s later, {bot.peak_rss_mb:.0f} MB")
    return {
        "reps": reps,
        **{
            key: {b: round(statistics.median(r[i] for r in runs[b]), 2) for b in BACKENDS}
            for i, key in enumerate(("port_ready_s", "first_answer_after_ready_s",
                                     "peak_rss_mb"))
        },
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=3, help="cold runs of each backend")
    p.add_argument("--sets", default=",".join(("tidewire", *DEV_FAQS)))
    p.add_argument("--faq-pages", type=int, default=0,
                   help="keep the first N pages of each FAQ set (0: all)")
    p.add_argument("--before-tree", type=Path,
                   help="another checkout (e.g. `git archive` of an earlier commit): its "
                   "onnx path joins the cold-ask rotation")
    p.add_argument("--cold-only", action="store_true",
                   help="only the cold ask and Slack runs, on the sample index an earlier "
                   "run left in bench/_data/cold_start")
    p.add_argument("--answers-only", action="store_true",
                   help="only index throughput and the answer comparison, no cold-start runs")
    p.add_argument("--floor", action="store_true",
                   help="add the third-party floor of a cold ask (bench/_cold_floor.py: "
                   "LanceDB open + search, the ONNX encoder) to the cold-ask rotation")
    args = p.parse_args()
    if args.cold_only and args.answers_only:
        raise SystemExit("error: --cold-only and --answers-only exclude each other")
    sets = [s for s in args.sets.split(",") if s]
    if not args.cold_only:
        shutil.rmtree(WORK, ignore_errors=True)
        WORK.mkdir(parents=True)
    elif not (WORK / "tidewire" / "torch" / "lancedb").is_dir():
        raise SystemExit("error: --cold-only needs the index of an earlier full run")

    sample = WORK / "tidewire"
    embedders = {
        "torch": Embedder(threads=THREADS, backend="torch"),
        # the cache of the data dir the cold runs use: its export is made here, timed
        "onnx": Embedder.for_data_dir(sample / "torch", threads=THREADS),
    }
    t = time.perf_counter()
    _ = embedders["onnx"].dimension
    export_s = time.perf_counter() - t
    _ = embedders["torch"].dimension
    log(f"ONNX export made in {export_s:.1f}s")

    figures: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "threads": THREADS,
        # with --cold-only the export is already cached: this is then its load time
        ("onnx_load_s" if args.cold_only else "onnx_export_s"): round(export_s, 1),
    }
    if not args.cold_only:
        figures["faq_pages"] = args.faq_pages or "all"
        figures.update(throughput_and_answers(sets, embedders, args.faq_pages))
    if args.answers_only:
        emit(figures, args.json, lambda: _text(figures))
        return
    questions = [g.question for g in load_golden(SAMPLE_GOLDEN)]
    data_dir = sample / "torch"  # the index sentence-transformers built: kept as it is
    figures["cold_ask"] = cold_ask(data_dir, questions, args.reps, args.before_tree, args.floor)
    figures["cold_ask_first_start_with_export"] = first_start(data_dir, questions[0])
    figures["slack"] = slack_first_answer(data_dir, questions[1], args.reps)
    emit(figures, args.json, lambda: _text(figures))


def _text(f: dict[str, Any]) -> str:
    lines = [
        f"cold start, {f['date']}, {f['machine']}, {f['threads']} threads "
        f"(before = sentence-transformers on torch, after = onnxruntime)",
        f"one-off ONNX export (or cached load): "
        f"{f.get('onnx_export_s', f.get('onnx_load_s'))}s",
    ]
    if "index" in f:
        ix = f["index"]
        lines.append(f"index throughput: before {ix['texts_per_s']['torch']} texts/s, after "
                     f"{ix['texts_per_s']['onnx']} texts/s ({ix['ratio_after_before']}x)")
    if "cold_ask" in f:
        lines += _cold_text(f)
    for name, a in f.get("answers", {}).items():
        lines.append(f"answers {name}: {a['identical_on_existing_index']}/{a['questions']} "
                     f"identical on the existing index, {a['identical_on_fresh_index']}/"
                     f"{a['questions']} on a fresh one")
        for way, diffs in a["differing"].items():
            for d in diffs:
                lines.append(f"  differs ({way}): {d['question']!r}, query cosine "
                             f"{d['query_cosine']}; today {d['today']['top'][:2]}, "
                             f"{way} {d['other']['top'][:2]}")
    return "\n".join(lines)


def _cold_text(f: dict[str, Any]) -> list[str]:
    ca, sl = f["cold_ask"], f["slack"]
    before = (
        [f"cold ask, onnx path of {ca['before_tree']}: {ca['wall_s']['onnx_before_tree']}s / "
         f"{ca['peak_rss_mb']['onnx_before_tree']} MB (wall {ca['wall_ratio_before_tree']}x, "
         f"RSS {ca['rss_ratio_before_tree']}x)"] if "before_tree" in ca else []
    )
    return [
        f"cold ask: before {ca['wall_s']['torch']}s / {ca['peak_rss_mb']['torch']} MB, after "
        f"{ca['wall_s']['onnx']}s / {ca['peak_rss_mb']['onnx']} MB "
        f"(wall {ca['wall_ratio']}x, RSS {ca['rss_ratio']}x); answers identical: "
        f"{ca['answers_identical']}; load average {ca['load_average']}",
        *before,
        *([f"floor (LanceDB + ONNX encoder only): {ca['wall_s']['floor']}s / "
           f"{ca['peak_rss_mb']['floor']} MB (wall {ca['wall_ratio_floor']}x, RSS "
           f"{ca['rss_ratio_floor']}x of the torch path)"] if "rss_ratio_floor" in ca else []),
        f"first start incl. export: {f['cold_ask_first_start_with_export']}",
        f"slack: port ready before {sl['port_ready_s']['torch']}s / after "
        f"{sl['port_ready_s']['onnx']}s; first answer after ready: before "
        f"{sl['first_answer_after_ready_s']['torch']}s / after "
        f"{sl['first_answer_after_ready_s']['onnx']}s; peak RSS {sl['peak_rss_mb']}",
    ]


if __name__ == "__main__":
    main()
