"""Query-embedding latency with 1 vs 2 torch threads, in alternating blocks of the same questions.

`Embedder.encode_query` on the sample golden questions; blocks of `--block` calls alternate
between `torch.set_num_threads(2)` and `(1)` (the first call after each switch is dropped),
so both settings see the same machine load. The load average is printed with the figures:
the difference only shows when other processes compete for the cores.

    python bench/query_embed_threads.py [--json] [--blocks 8] [--block 60]
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import torch
from _common import embedder, emit, log, parser, pct
from _corpus import SAMPLE_GOLDEN

from askdesk.retrieval.embedding import Embedder


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--blocks", type=int, default=8)
    p.add_argument("--block", type=int, default=60)
    args = p.parse_args()
    emb = embedder(Embedder)
    qs = [json.loads(x)["question"] for x in SAMPLE_GOLDEN.read_text().splitlines() if x.strip()]
    load_before = os.getloadavg()
    times: dict[int, list[float]] = {2: [], 1: []}
    for b in range(args.blocks):
        threads = 2 if b % 2 == 0 else 1
        torch.set_num_threads(threads)
        for j in range(args.block + 1):
            t = time.perf_counter()
            emb.encode_query(qs[(b * args.block + j) % len(qs)])
            if j:
                times[threads].append((time.perf_counter() - t) * 1000)
        log(f"block {b + 1}/{args.blocks} (threads={threads}) done")
    load_after = os.getloadavg()
    figures: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "calls_per_setting": len(times[1]),
        **{
            f"threads={n}_ms": {
                **pct(v),
                "max": round(max(v), 1),
                "over_100ms": sum(1 for x in v if x > 100),
            }
            for n, v in times.items()
        },
    }
    figures["p50_ratio_2_to_1"] = round(
        figures["threads=2_ms"]["p50"] / figures["threads=1_ms"]["p50"], 2
    )

    def text() -> str:
        lines = [f"load average before {load_before[:3]}, after {load_after[:3]}"]
        for n in (2, 1):
            f = figures[f"threads={n}_ms"]
            lines.append(
                f"threads={n}: p50 {f['p50']} ms  p95 {f['p95']} ms  max {f['max']} ms  "
                f"> 100 ms: {f['over_100ms']}/{len(times[n])}"
            )
        lines.append(f"p50 ratio threads=2 / threads=1: {figures['p50_ratio_2_to_1']}")
        return "\n".join(lines)

    emit(figures, args.json, text)


if __name__ == "__main__":
    main()
