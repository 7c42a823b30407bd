"""How long the asker waits when the LLM server misbehaves (issue 20 D8/D9, issue 22 part 3).

One run, one engine over the indexed sample docs (real LanceDB, real search, the real `openai`
client unmodified), one OpenAI-compatible server on 127.0.0.1 (askdesk/testing/fake_openai.py) per
fault. For each fault the figure is the wall time of `AnswerEngine.answer` from the question
to the posted (extractive) answer, with the reason recorded:

- `healthy`: the server answers at once (a checked LLM answer, for scale);
- `http-500`: every request gets HTTP 500;
- `no-answer`: the server accepts the request and never answers (a "timeout");
- `refused`: nothing listens on the port;
- `dribbled-body`: a JSON reply sent one byte every 50 ms (~30 s to send);
- `sse-comments`: a stream that sends `: keep-alive` every 100 ms and never a token;
- `slow-stream`: a stream that sends a token every 50 ms, forever;
- `20-mb-json`: a 20 MB JSON reply, sent at once;
- `20-mb-stream`: a 20 MB token in one SSE event.

Beside them, the baseline: the extractive engine alone on the same question (what answering
costs without a model). The settings are the defaults (`askdesk/settings.py`) unless given.
Each case is run `--runs` times (median reported); the whole run is bounded by the deadlines
it measures. Run it against an older checkout with the same `askdesk/testing/fake_openai.py` to
compare:
settings a checkout does not know are simply not passed.

    python bench/llm_fallback.py [--json] [--runs 1] [--cap-s 150]
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import embedder, emit, log, parser
from _corpus import SAMPLE_DOCS

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine
from askdesk.core.llm_compose import LLMComposer, LLMConfig
from askdesk.core.types import Question
from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import Searcher
from askdesk.settings import Settings
from askdesk.testing.fake_openai import FakeOpenAI, Reply, prompt_passages, sentences

QUESTION = "How do I rotate my API key?"


def _faithful(body: dict) -> Reply:
    passage = prompt_passages(body)[1]
    return Reply(" ".join(s.rstrip(".") + " [1]." for s in sentences(passage)))


FAULTS: dict[str, Any] = {
    "healthy": _faithful,
    "http-500": [Reply(status=500)],
    "no-answer": [Reply(delay_s=600)],
    "refused": None,
    "dribbled-body": [Reply("Rotate your key in Settings [1]. " * 20, dribble_s=0.05)],
    "sse-comments": [Reply(forever="comments", every_s=0.1, stream=True)],
    "slow-stream": [Reply(forever="chunks", every_s=0.05, stream=True)],
    "20-mb-json": [Reply("Rotate your key in Settings [1]. " * (20_000_000 // 33), stream=False)],
    "20-mb-stream": [Reply("Rotate_your_key_in_Settings_[1]._" * (20_000_000 // 33), stream=True)],
}


def llm_config(base_url: str) -> LLMConfig:
    """The defaults of this checkout's settings, for whatever fields its LLMConfig has."""
    s = Settings(_env_file=None)
    wanted = {
        "timeout_s": s.llm_timeout_s,
        "max_tokens": s.llm_max_tokens,
        "temperature": s.llm_temperature,
        "stream": getattr(s, "llm_stream", False),
        "first_token_s": getattr(s, "llm_first_token_s", None),
        "max_reply_bytes": getattr(s, "llm_max_reply_bytes", None),
    }
    known = {f.name for f in dataclasses.fields(LLMConfig)}
    args = {k: v for k, v in wanted.items() if k in known and v is not None}
    return LLMConfig(base_url, "bench-model", **args)


def timed_answer(engine: AnswerEngine, cap_s: float) -> tuple[float | None, str | None]:
    """Seconds to the answer and its composer note; (None, "still running") past `cap_s`."""
    out: dict[str, Any] = {}

    def run() -> None:
        t = time.perf_counter()
        answer = engine.answer(Question(QUESTION))
        out["took"] = time.perf_counter() - t
        out["note"] = answer.composer_note or answer.composer

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(cap_s)
    if worker.is_alive():
        return None, f"still running after {cap_s:.0f} s"
    return out["took"], out["note"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--cap-s", type=float, default=150.0, help="give up on a case after this")
    args = p.parse_args()
    emb = embedder(Embedder)
    work = Path(tempfile.mkdtemp(prefix="askdesk-llm-fallback-"))
    try:
        docs = work / "docs"
        shutil.copytree(SAMPLE_DOCS, docs)
        index = ChunkIndex(work / "lancedb")
        Ingester(index, emb).run(docs)
        searcher = Searcher(index, emb)
        searcher.search(QUESTION)  # warm: the first search loads the index

        base = AnswerEngine(searcher, ExtractiveComposer())
        baseline = statistics.median(
            timed_answer(base, args.cap_s)[0] or 0.0 for _ in range(max(3, args.runs))
        )
        log(f"extractive alone: {baseline:.3f} s")
        figures: dict[str, Any] = {"baseline_extractive_s": round(baseline, 3), "faults": {}}
        for name, script in FAULTS.items():
            takes: list[float] = []
            note: str | None = None
            for _ in range(args.runs):
                if script is None:
                    config = llm_config(f"http://127.0.0.1:{free_port()}/v1")
                    engine = AnswerEngine(searcher, LLMComposer(config, ExtractiveComposer()))
                    took, note = timed_answer(engine, args.cap_s)
                else:
                    replies = None if callable(script) else script
                    responder = script if callable(script) else None
                    with FakeOpenAI(replies, responder=responder) as server:
                        config = llm_config(server.base_url)
                        composer = LLMComposer(config, ExtractiveComposer())
                        took, note = timed_answer(AnswerEngine(searcher, composer), args.cap_s)
                if took is None:
                    takes = []
                    break
                takes.append(took)
            median = round(statistics.median(takes), 2) if takes else None
            figures["faults"][name] = {"seconds": median, "note": note}
            log(f"{name}: {median} s ({note})")
        figures["settings"] = {
            k: v for k, v in dataclasses.asdict(llm_config("x")).items() if k != "api_key"
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def text() -> str:
        lines = [f"extractive alone (baseline): {figures['baseline_extractive_s']:.3f} s"]
        for name, row in figures["faults"].items():
            secs = "—" if row["seconds"] is None else f"{row['seconds']:.2f} s"
            lines.append(f"{name:15} {secs:>9}  {row['note']}")
        return "\n".join(lines)

    emit(figures, args.json, text)


if __name__ == "__main__":
    main()
