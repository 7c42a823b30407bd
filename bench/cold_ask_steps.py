"""Where a cold `askdesk ask` spends its memory and time, step by step (issue 23).

Each run is a fresh interpreter that does what `askdesk ask` does, but one step after another
(the CLI overlaps the model load with the table open), reading VmRSS (anon and file-backed)
and VmHWM from /proc/self/status after each step: native libraries count, which tracemalloc
would miss. `--before-tree DIR` runs the same steps on another checkout (e.g. `git archive` of
the commit before a change) alternating with this one, so a busy host weighs on both alike.

    python bench/cold_ask_steps.py --data-dir bench/_data/cold_start/tidewire/torch \
        [--before-tree /tmp/askdesk-before] [--reps 3] [--json]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from _common import THREADS, emit, log, parser
from _corpus import REPO

QUESTION = "How long does an old API key keep working?"

STEPS = r"""
import json, sys, time
out = []
def status():
    d = {}
    for line in open("/proc/self/status"):
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            d[key] = int(rest.split()[0]) / 1024
    return d
t0 = time.perf_counter()
def step(name):
    out.append({"step": name, "t": time.perf_counter() - t0, **status()})
step("interpreter")
import askdesk.cli
step("import askdesk.cli (typer, commands)")
import askdesk.wiring
from askdesk.settings import Settings
from askdesk.wiring import App
app = App(Settings())
engine = app.engine(record=True)
step("import wiring, settings (pydantic, SQLAlchemy)")
_ = app.store.engine
step("open the database (schema check / Alembic)")
import lancedb
step("import lancedb (pyarrow, lance_namespace)")
_ = app.index.table
step("open the table")
import onnxruntime, tokenizers
step("import onnxruntime, tokenizers")
_ = app.embedder.model
step("embedding model (session, probe)")
from askdesk.core.types import Question
answer = engine.answer(Question(sys.argv[1], platform="cli", asker_id="bench"))
step("first answer (search, compose, record)")
from askdesk.cli.render import print_answer
step("import render (rich)")
mods = sorted({m.split(".")[0] for m in sys.modules if not m.startswith("_")})
print(json.dumps({"steps": out, "modules": mods, "answer": answer.text}))
"""


def run_steps(root: Path, data_dir: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    env.update(ASKDESK_DATA_DIR=str(data_dir), ASKDESK_EMBED_THREADS=str(THREADS),
               PYTHONPATH=str(root), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    r = subprocess.run([sys.executable, "-c", STEPS, QUESTION], capture_output=True, text=True,
                       env=env, cwd=data_dir.parent, timeout=600)
    if r.returncode != 0:
        raise SystemExit(f"steps failed ({root}): {r.stderr[-1500:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per step, medians over runs: the RSS it added (total, anon, file) and its seconds."""
    names = [s["step"] for s in runs[0]["steps"]]
    rows = []
    for i, name in enumerate(names):
        def med(key: str, i: int = i) -> float:
            vals = []
            for r in runs:
                cur, prev = r["steps"][i], r["steps"][i - 1] if i else None
                vals.append(cur[key] - (prev[key] if prev and key != "VmHWM" else 0))
            return statistics.median(vals)
        rows.append({"step": name, "rss_mb": round(med("VmRSS"), 1),
                     "anon_mb": round(med("RssAnon"), 1), "file_mb": round(med("RssFile"), 1),
                     "seconds": round(med("t"), 2)})
    return {"steps": rows,
            "peak_mb": round(statistics.median(r["steps"][-1]["VmHWM"] for r in runs)),
            "seconds": round(statistics.median(r["steps"][-1]["t"] for r in runs), 2),
            "modules": runs[-1]["modules"]}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, required=True, help="an indexed data dir")
    p.add_argument("--before-tree", type=Path, help="another checkout to compare with")
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()
    trees = {"after": REPO}
    if args.before_tree:
        trees = {"before": args.before_tree.resolve(), "after": REPO}
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in trees}
    for rep in range(args.reps):
        for name in (list(trees) if rep % 2 == 0 else list(trees)[::-1]):
            runs[name].append(run_steps(trees[name], args.data_dir.resolve()))
            log(f"{name}: peak {runs[name][-1]['steps'][-1]['VmHWM']:.0f} MB")
    answers = {name: {r["answer"] for r in rs} for name, rs in runs.items()}
    figures = {name: summarise(rs) for name, rs in runs.items()}
    figures["answers_identical"] = len(set().union(*answers.values())) == 1
    figures["load_average"] = os.getloadavg()
    emit(figures, args.json, lambda: _text(figures, list(trees)))


def _text(f: dict[str, Any], trees: list[str]) -> str:
    lines = [f"{'step':48s} " + "  ".join(f"{t:>26s}" for t in trees)]
    for i, row in enumerate(f[trees[0]]["steps"]):
        cells = []
        for t in trees:
            r = f[t]["steps"][i]
            cells.append(f"+{r['rss_mb']:5.1f} MB ({r['anon_mb']:5.1f}a/{r['file_mb']:5.1f}f) "
                         f"{r['seconds']:4.2f}s")
        lines.append(f"{row['step']:48s} " + "  ".join(cells))
    lines.append("peak (VmHWM): " + ", ".join(f"{t} {f[t]['peak_mb']} MB" for t in trees))
    if len(trees) > 1:
        gone = sorted(set(f[trees[0]]["modules"]) - set(f[trees[1]]["modules"]))
        lines.append(f"top-level modules no longer imported: {' '.join(gone) or '-'}")
    lines.append(f"answers identical: {f['answers_identical']}; load average {f['load_average']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
