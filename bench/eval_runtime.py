"""Run time of a stored eval run (`askdesk eval`) for 100 questions, against answering them.

The sample docs are indexed into a temporary data dir; 100 questions are the sample golden
set cycled (38 → 100, repeats asked again for real). In the same run, alternating rounds:
- baseline: `engine.answer` on each question (the work an eval cannot avoid);
- eval: `askdesk eval`'s own path (`run_and_store`: answers, hit@k/MRR, answer F1,
  groundedness, tone if a scorer exists, then the EvalRun + 100 EvalResult rows stored).
Reported: seconds per run for each, and eval / baseline.

    python bench/eval_runtime.py [--json] [--questions 100] [--rounds 3]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import emit, log, parser
from _corpus import SAMPLE_GOLDEN

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from askdesk.cli.eval_cmd import run_and_store
from askdesk.core.types import Question
from askdesk.demo import sample_dir
from askdesk.settings import Settings
from askdesk.upkeep import index_folder
from askdesk.wiring import App


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--questions", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()

    lines = [line for line in SAMPLE_GOLDEN.read_text().splitlines() if line.strip()]
    lines = [lines[i % len(lines)] for i in range(args.questions)]
    with tempfile.TemporaryDirectory() as tmp:
        golden = Path(tmp) / "golden100.jsonl"
        golden.write_text("\n".join(lines) + "\n")
        app = App(Settings(data_dir=Path(tmp) / "data", embed_threads=2))
        index_folder(app, sample_dir() / "docs")
        engine = app.engine(record=False)
        engine.warm_up()
        questions = [json.loads(line)["question"] for line in lines]
        base, full = [], []
        for r in range(args.rounds):
            t = time.perf_counter()
            for q in questions:
                engine.answer(Question(q, platform="bench"))
            base.append(time.perf_counter() - t)
            t = time.perf_counter()
            report, _, run_id = run_and_store(app, golden, f"bench {r}")
            full.append(time.perf_counter() - t)
            log(f"round {r + 1}: answers {base[-1]:.1f}s, eval run #{run_id} {full[-1]:.1f}s")
        figures = {
            "questions": args.questions,
            "rounds": args.rounds,
            "answers_only_s_median": round(statistics.median(base), 2),
            "eval_run_s_median": round(statistics.median(full), 2),
            "eval_over_answers": round(statistics.median(full) / statistics.median(base), 3),
            "eval_s_per_question": round(statistics.median(full) / args.questions, 3),
            "hit@5": report.summary.get("hit@5"),
            "groundedness": report.summary.get("groundedness"),
        }
    emit(
        figures,
        args.json,
        lambda: "\n".join(f"{k}: {v}" for k, v in figures.items()),
    )


if __name__ == "__main__":
    main()
