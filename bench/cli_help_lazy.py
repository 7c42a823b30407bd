"""`askdesk --help` with lazy command loading (issue 24) against another checkout, same run.

Alternates the two trees 12 times (each goes first in turn) and reports the median wall time
of `python -m askdesk --help` and how many modules it imported.

    git archive <base> | tar -x -C /tmp/base
    python bench/cli_help_lazy.py /tmp/base
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
COUNT = "import sys; sys.argv=['askdesk','--help']\nfrom askdesk.cli import main\n" + (
    "try: main()\nexcept SystemExit: pass\nprint(len(sys.modules))"
)


def main() -> None:
    trees = {"before": sys.argv[1], "after": str(HERE)}
    times: dict[str, list[float]] = {k: [] for k in trees}
    for i in range(12):
        for name in list(trees) if i % 2 == 0 else list(trees)[::-1]:
            env = {**os.environ, "PYTHONPATH": trees[name]}
            t = time.perf_counter()
            cmd = [sys.executable, "-m", "askdesk", "--help"]
            subprocess.run(cmd, env=env, capture_output=True, check=True, cwd="/tmp")
            times[name].append(time.perf_counter() - t)
    for name, tree in trees.items():
        env = {**os.environ, "PYTHONPATH": tree}
        out = subprocess.run(
            [sys.executable, "-c", COUNT], env=env, capture_output=True, text=True, cwd="/tmp"
        )
        modules = out.stdout.strip().splitlines()[-1]
        print(f"{name}: median {statistics.median(times[name]):.3f} s, {modules} modules")


if __name__ == "__main__":
    main()
