"""Same-run A/B of answer latency between this checkout's code and another git revision's
(issue 19): each side answers in its own worker process, from its own copy of the 20k-chunk
bench index, and the driver alternates which side goes first per question, so both see the
same load. Every question's answer text, sources and declined flag must be the same from both
(counted in `identical_answers`); bare embed + vector search at depth 10 runs in this
worker as its baseline (`bare`: this checkout's, `bare_base`: the other's).

The other revision is exported with `git archive` into a temporary folder and its index copy
is opened without touching it, as that revision would (so an index it never built stays
unbuilt); this checkout's copy gets what today's `askdesk index` run would add to an existing
index (`ChunkIndex.ensure_doc_index`).

    python bench/latency_branch_ab.py [--base final]   # after bench/answer_latency.py
    python bench/latency_branch_ab.py --base HEAD --prepare-base   # A/A: the rig's own noise
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics as st
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def worker(folder: str, prepare: bool) -> None:
    """Answer questions from stdin (one JSON string a line) with this code: one JSON a line."""
    sys.path.insert(0, str(HERE))
    # checkout: the worker runs the code under measurement (its PYTHONPATH), imported here
    from _common import embedder

    from askdesk.core.compose import ExtractiveComposer
    from askdesk.core.engine import AnswerEngine
    from askdesk.core.types import Question
    from askdesk.retrieval.embedding import Embedder
    from askdesk.retrieval.index import ChunkIndex
    from askdesk.retrieval.search import Searcher

    emb = embedder(Embedder)
    index = ChunkIndex(folder)
    if prepare:
        index.ensure_doc_index()
    engine = AnswerEngine(Searcher(index, emb), ExtractiveComposer())
    print("ready", flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        t = time.perf_counter()
        if job["path"] in ("bare", "bare_base"):
            index.vector_search(emb.encode_query(job["q"]), 10)
            out: dict[str, Any] = {"ms": (time.perf_counter() - t) * 1000}
        else:
            a = engine.answer(Question(job["q"], platform="bench"))
            out = {
                "ms": (time.perf_counter() - t) * 1000,
                "answer": [a.text, [[s.path, s.heading] for s in a.sources], a.unanswered],
                "timings": a.timings_ms,
            }
        print(json.dumps(out), flush=True)


class Side:
    def __init__(self, code: Path, folder: Path, prepare: bool) -> None:
        env = {**os.environ, "PYTHONPATH": str(code)}
        args = [sys.executable, str(HERE / "latency_branch_ab.py"), "--worker", str(folder)]
        self.proc = subprocess.Popen(
            [*args, *(["--prepare"] if prepare else [])],
            cwd=code,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise SystemExit(f"worker for {code} did not start: {line!r}")

    def ask(self, path: str, q: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"path": path, "q": q}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--base", default="final", help="the git revision to compare against")
    p.add_argument("--passes", type=int, default=1)
    p.add_argument("--worker")
    p.add_argument("--prepare", action="store_true")
    p.add_argument(
        "--prepare-base", action="store_true", help="the base's index copy prepared too (A/A)"
    )
    args = p.parse_args()
    if args.worker:
        worker(args.worker, args.prepare)
        return
    sys.path.insert(0, str(HERE))
    # checkout: only the driver imports this checkout's bench modules; a worker never does
    from _common import pct
    from _corpus import DATA
    from answer_latency import WARMUP, questions

    source = DATA / "latency" / "index.lancedb"
    with tempfile.TemporaryDirectory(prefix="latency-ab-") as tmp:
        base_code = Path(tmp) / "base"
        base_code.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.base], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(base_code)], input=archive, check=True)
        shutil.copytree(source, Path(tmp) / "base.lancedb")
        shutil.copytree(source, Path(tmp) / "today.lancedb")
        sides = {
            "today": Side(ROOT, Path(tmp) / "today.lancedb", prepare=True),
            "base": Side(base_code, Path(tmp) / "base.lancedb", prepare=args.prepare_base),
        }
        # each worker runs its own bare baseline too: a worker that ran more LanceDB queries
        # than the other kept its caches warmer (an A/A with the bare in one worker only
        # read 0.89x on identical code)
        paths = [("today", "today"), ("base", "base"), ("today", "bare"), ("base", "bare_base")]
        qs = questions() * args.passes
        for q in qs[:WARMUP]:
            for side, path in paths:
                sides[side].ask(path, q)
        wall: dict[str, list[float]] = {path: [] for _, path in paths}
        parts: dict[str, dict[str, list[float]]] = {"today": {}, "base": {}}
        same = 0
        load0, start = os.getloadavg()[0], time.strftime("%H:%M", time.gmtime())
        for i, q in enumerate(qs):
            got = {}
            for side, path in paths[i % 4 :] + paths[: i % 4]:
                out = sides[side].ask(path, q)
                wall[path].append(out["ms"])
                if "answer" in out:
                    got[path] = out["answer"]
                    for k, v in out["timings"].items():
                        parts[path].setdefault(k, []).append(v)
            same += got["today"] == got["base"]
        for s in sides.values():
            s.close()
    p50 = {p: st.median(v) for p, v in wall.items()}
    bare = st.median(wall["bare"] + wall["bare_base"])  # both workers' bare runs pooled
    print(
        json.dumps(
            {
                "base_rev": args.base,
                "utc": f"{start}-{time.strftime('%H:%M', time.gmtime())}",
                "load1": [round(load0, 1), round(os.getloadavg()[0], 1)],
                "questions": len(qs),
                "identical_answers": same,
                **{p: pct(v) for p, v in wall.items()},
                "bare_pooled_p50": round(bare, 2),
                "today_over_bare_p50": round(p50["today"] / bare, 3),
                "base_over_bare_p50": round(p50["base"] / bare, 3),
                "today_over_base_p50": round(p50["today"] / p50["base"], 3),
                "breakdown_p50": {
                    p: {k: round(st.median(v), 2) for k, v in b.items()} for p, b in parts.items()
                },
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
