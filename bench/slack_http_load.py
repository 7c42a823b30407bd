"""Slack HTTP mode under load: concurrent askers against the real bot and a fake Web API.

The bot is the production code path (`build_slack_app` served by
`askdesk.bots.slack.run.serve_http`, real packaged model, the sample docs indexed into a temporary
LanceDB folder, SQLite store). Each of `--askers` threads sends a correctly signed `app_mention`
over HTTP, waits for the answer, then asks the next question, until `--questions` are answered
(closed loop). The Web API is the tests' fake (askdesk/testing/fake_slack.py), which timestamps each
call on arrival.

Figures: the share of events acked within Slack's 3 s (goal 100%), ack time, and answer
latency (event sent → the answer's chat.postMessage reaching the fake), against an in-run
baseline: the same questions asked of SupportDesk.ask directly by as many threads. The
baseline runs before and after the Slack pass and is pooled, so machine drift cancels out.

    python bench/slack_http_load.py [--json] [--questions 200] [--askers 10] [--workers 4]
"""

from __future__ import annotations

import json
import logging
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import THREADS, embedder, emit, log, parser, pct
from _corpus import SAMPLE_GOLDEN, sample_corpus

from askdesk.bots.common import ChannelDirectory
from askdesk.bots.slack.app import build_slack_app
from askdesk.bots.slack.config import web_client
from askdesk.bots.slack.run import serve_http
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine
from askdesk.core.types import Question
from askdesk.feedback.store import FeedbackStore
from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import Searcher
from askdesk.testing.fake_slack import FakeSlackAPI
from askdesk.testing.slack_payloads import SECRET, SlackSender, mention

ACK_LIMIT_S = 3.0
WARMUP = 10


def questions(n: int) -> list[str]:
    golden = [json.loads(line)["question"] for line in SAMPLE_GOLDEN.read_text().splitlines()]
    return [golden[i % len(golden)] for i in range(n)]


def closed_loop(items: list[str], askers: int, ask: Callable[[int, str], None]) -> float:
    """Run `ask(asker, question)` from `askers` threads until the list is done; wall seconds."""
    todo: queue.Queue[str] = queue.Queue()
    for q in items:
        todo.put(q)

    def worker(n: int) -> None:
        while True:
            try:
                q = todo.get_nowait()
            except queue.Empty:
                return
            ask(n, q)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(askers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def direct_pass(desk: SupportDesk, items: list[str], askers: int) -> tuple[list[float], float]:
    latencies: list[float] = []

    def ask(n: int, q: str) -> None:
        t = time.perf_counter()
        desk.ask(Question(q, platform="bench", channel=f"D{n}", asker_id=f"U{n}"))
        latencies.append((time.perf_counter() - t) * 1000)

    return latencies, closed_loop(items, askers, ask)


class SlackPass:
    """Sends mentions and waits for each answer, timed by the fake's arrival stamp."""

    def __init__(self, api: Any, url: str) -> None:
        self.sender = SlackSender(url)
        self.answers: dict[str, float] = {}
        self.arrived = threading.Condition()
        api.listeners.append(self._on_call)
        self.acks_ms: list[float] = []
        self.latencies_ms: list[float] = []
        self.failures = 0

    def _on_call(self, call: dict[str, Any]) -> None:
        thread = call["body"].get("thread_ts")
        if call["method"] == "chat.postMessage" and call.get("status") == 200 and thread:
            with self.arrived:
                self.answers.setdefault(thread, call["t"])
                self.arrived.notify_all()

    def ask(self, n: int, q: str) -> None:
        event = mention(q, channel=f"C{n:03d}", user=f"U{n:03d}")
        t = time.perf_counter()
        reply = self.sender.event(event)
        self.acks_ms.append((time.perf_counter() - t) * 1000)
        if reply.status_code != 200:
            self.failures += 1
            return
        with self.arrived:
            ok = self.arrived.wait_for(lambda: event["ts"] in self.answers, timeout=120)
        if not ok:
            self.failures += 1
            return
        self.latencies_ms.append((self.answers[event["ts"]] - t) * 1000)


def build_desk(work: Path, emb: Embedder) -> SupportDesk:
    index = ChunkIndex(work / "lancedb")
    docs = work / "docs"
    shutil.copytree(sample_corpus(), docs)
    t = time.perf_counter()
    Ingester(index, emb).run(docs)
    log(f"sample docs indexed in {time.perf_counter() - t:.1f}s")
    store = FeedbackStore(f"sqlite:///{work / 'bench.db'}")
    engine = AnswerEngine(
        Searcher(index, emb), ExtractiveComposer(), recorder=store.interactions, asker_salt="bench"
    )
    engine.warm_up()
    return SupportDesk(engine, store, "bench")


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--questions", type=int, default=200)
    p.add_argument("--askers", type=int, default=10)
    p.add_argument("--workers", type=int, default=4, help="the bot's answer pool")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    items = questions(args.questions)
    emb = embedder(Embedder)

    with tempfile.TemporaryDirectory(prefix="slack-bench-") as tmp, FakeSlackAPI() as api:
        desk = build_desk(Path(tmp), emb)
        pool = ThreadPoolExecutor(args.workers, thread_name_prefix="answer")
        client = web_client("xoxb-bench", api.base_url)
        app = build_slack_app(
            desk, ChannelDirectory(), client=client, signing_secret=SECRET, executor=pool
        )
        server = serve_http(app, "127.0.0.1", 0, signing_secret=SECRET)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        slack = SlackPass(api, f"http://127.0.0.1:{server.server_port}/slack/events")

        closed_loop(items[:WARMUP], args.askers, lambda n, q: desk.ask(Question(q)))
        log(f"baseline: SupportDesk.ask × {len(items)}, {args.askers} threads")
        before, before_s = direct_pass(desk, items, args.askers)
        log(f"slack: {len(items)} mentions over HTTP, {args.askers} askers")
        slack_s = closed_loop(items, args.askers, slack.ask)
        log("baseline again (drift check)")
        after, after_s = direct_pass(desk, items, args.askers)
        server.shutdown()
        server.server_close()
        pool.shutdown(wait=True)

    direct = before + after
    acked = sum(a < ACK_LIMIT_S * 1000 for a in slack.acks_ms) / max(len(slack.acks_ms), 1)
    s, d = pct(slack.latencies_ms), pct(direct)
    figures = {
        "questions": len(items),
        "askers": args.askers,
        "answer_workers": args.workers,
        "torch_threads": THREADS,
        "acked_within_3s": round(acked, 4),
        "failures": slack.failures,
        "ack_ms": {**pct(slack.acks_ms), "max": round(max(slack.acks_ms, default=0.0), 2)},
        "slack_answer_ms": s,
        "direct_answer_ms": d,
        "direct_p50_before_after_ms": [pct(before)["p50"], pct(after)["p50"]],
        "ratio_p50": round(s["p50"] / d["p50"], 2) if d["p50"] else None,
        "ratio_p95": round(s["p95"] / d["p95"], 2) if d["p95"] else None,
        "slack_answers_per_s": round(len(slack.latencies_ms) / slack_s, 2),
        "direct_answers_per_s": round(len(direct) / (before_s + after_s), 2),
    }

    def text() -> str:
        return "\n".join(
            [
                f"Slack HTTP mode, {len(items)} questions, {args.askers} concurrent askers, "
                f"{args.workers} answer workers, torch threads {THREADS}",
                f"  acked < 3 s: {acked:.1%}  (ack p50 {figures['ack_ms']['p50']} ms, "
                f"p95 {figures['ack_ms']['p95']} ms, max {figures['ack_ms']['max']} ms); "
                f"failures {slack.failures}",
                f"  answer latency via Slack: p50 {s['p50']} ms, p95 {s['p95']} ms "
                f"({figures['slack_answers_per_s']} answers/s)",
                f"  SupportDesk.ask directly: p50 {d['p50']} ms, p95 {d['p95']} ms "
                f"({figures['direct_answers_per_s']} answers/s; p50 before/after "
                f"{figures['direct_p50_before_after_ms']})",
                f"  ratio: p50 ×{figures['ratio_p50']}, p95 ×{figures['ratio_p95']}",
            ]
        )

    emit(figures, args.json, text)


if __name__ == "__main__":
    main()
