"""A fleet under load and faults: two `askdesk slack --http` processes, one PostgreSQL, one S3.

Everything runs on 127.0.0.1 and stops by itself: a fresh PostgreSQL database (from
ASKDESK_TEST_PG_URL, or --pg-url; `bash .ci/postgres.sh` prints one), `moto_server` as the
S3 API holding the index (the sample docs, indexed with `askdesk index`), the tests' fake
Slack Web API, two real `askdesk slack --http` processes and a small round-robin proxy in
front of them (it tries the other process when one refuses the connection, as a load
balancer would).

Askers (threads) act as Slack: each sends signed `app_mention` events through the proxy and
waits for the answer. A delivery not acked with 200 within 3 s is redelivered to the *other*
process (`X-Slack-Retry-Reason: http_timeout` / `http_error`); besides, `--retry-share` of
the events get a deliberate retry sent to the other process right after the first delivery.

Pass 1 restarts process B part-way (SIGTERM, start again), so some events arrive while it
is down or starting. Pass 2 kills process A with SIGKILL part-way. Pass 3 restarts the
PostgreSQL server itself part-way (`pg_ctl restart -m fast`: every session and every session
advisory lock ends) while answers are under way: a private cluster started for it (initdb in a
temporary folder, as the postgres user, a free port; see askdesk/testing/pg_private.py), never the
shared server, with the LLM backend on a scripted server that takes --llm-delay-s per reply
so questions are held when the restart comes. Per pass: answered exactly
once, lost (no answer within --answer-timeout s), answered twice or more, deliveries acked
< 3 s, answer latency p50/p95. The baseline is the naive deployment of the same two
processes: each with its own SQLite database (claims per process), same index and traffic.

    python bench/fleet.py [--json] [--events 500] [--kill-events 200] [--baseline-events 100]
                          [--pg-restart-events 100] [--llm-delay-s 3]
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _common import emit, log, parser, pct
from _corpus import REPO, SAMPLE_DOCS, SAMPLE_GOLDEN

from askdesk.testing.fake_openai import FakeOpenAI, Reply
from askdesk.testing.fake_slack import FakeSlackAPI
from askdesk.testing.pg_fleet import fresh_database
from askdesk.testing.pg_private import remove_private_postgres, start_private_postgres
from askdesk.testing.s3_loopback import start_moto, stop_moto
from askdesk.testing.slack_payloads import SECRET as SIGNING_SECRET
from askdesk.testing.slack_payloads import event_body, mention, sign

ACK_LIMIT_S = 3.0
LOGS = Path(tempfile.gettempdir()) / "askdesk-fleet-bench"  # each process's stderr
TOKEN = "xoxb-111-222-fleetbenchtoken"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the processes ------------------------------------------------------------------------------
class Bot:
    """One `askdesk slack --http` process; restartable on the same port."""

    def __init__(self, name: str, env: dict[str, str], work: Path) -> None:
        self.name, self.env, self.work = name, env, work
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = open(LOGS / f"{name}.stderr", "wb")  # noqa: SIM115 - kept for a post-mortem

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "askdesk",
                "slack",
                "--http",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "2",
            ],
            cwd=self.work,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def ready(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.port}/readyz"
            with urllib.request.urlopen(url, timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float = 300) -> float:
        t = time.perf_counter()
        while not self.ready():
            if (
                self.proc is None
                or self.proc.poll() is not None
                or time.perf_counter() - t > timeout
            ):
                raise RuntimeError(f"{self.name} did not become ready (see {self.log.name})")
            time.sleep(0.1)
        return time.perf_counter() - t

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Proxy:
    """Round-robin over the bots; a refused connection is tried on the next one (like
    nginx's proxy_next_upstream error). The backend's index is returned in X-Backend."""

    def __init__(self, bots: list[Bot]) -> None:
        self.bots = bots
        self._next = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                status, data, backend = proxy.forward(self.path, body, headers)
                self.send_response(status)
                self.send_header("content-length", str(len(data)))
                self.send_header("x-backend", str(backend))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/slack/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, int]:
        with self._lock:
            first = self._next
            self._next = (self._next + 1) % len(self.bots)
        for i in range(len(self.bots)):
            n = (first + i) % len(self.bots)
            try:
                status, data = post(self.bots[n].port, path, body, headers, timeout=10)
                return status, data, n
            except ConnectionRefusedError:
                continue
            except OSError:
                return 502, b"", n
        return 502, b"", -1


def post(port: int, path: str, body: bytes, headers: dict[str, str], timeout: float):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# -- the traffic ----------------------------------------------------------------------------------
class Pass:
    def __init__(self, name: str, api: Any, proxy: Proxy, bots: list[Bot], timeout: float) -> None:
        self.name, self.api, self.proxy, self.bots = name, api, proxy, bots
        self.timeout = timeout
        self.acks: list[tuple[float, bool]] = []  # (seconds, 200 in time?) per delivery
        self.refused = 0  # deliveries that found no process listening (not an ack failure)
        self.sent: dict[str, float] = {}  # question ts -> first send time
        self.during_fault: set[str] = set()
        self.fault = threading.Event()
        self._lock = threading.Lock()

    def deliver(self, raw: str, headers: dict[str, str], port: int | None) -> tuple[bool, int]:
        headers = {**sign(raw, "application/json"), **headers}
        t = time.perf_counter()
        try:
            if port is None:
                status, backend = self._via_proxy(raw.encode(), headers)
            else:
                status, _ = post(port, "/slack/events", raw.encode(), headers, ACK_LIMIT_S)
                backend = -1
        except ConnectionRefusedError:
            with self._lock:
                self.refused += 1
            return False, -1
        except OSError:
            status, backend = 0, -1
        took = time.perf_counter() - t
        ok = status == 200 and took < ACK_LIMIT_S
        with self._lock:
            self.acks.append((took, ok))
        return ok, backend

    def _via_proxy(self, body: bytes, headers: dict[str, str]) -> tuple[int, int]:
        url = self.proxy.url
        request = urllib.request.Request(url, body, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=ACK_LIMIT_S) as r:
                return r.status, int(r.headers.get("x-backend", -1))
        except urllib.error.HTTPError as e:
            return e.code, int(e.headers.get("x-backend", -1))

    def ask(self, asker: int, question: str, retry: bool) -> None:
        event = mention(question, channel=f"C{asker:03d}", user=f"U{asker:03d}")
        raw = json.dumps(event_body(event, f"Ev{uuid.uuid4().hex[:12]}"))
        self.sent[event["ts"]] = time.perf_counter()
        if self.fault.is_set():
            self.during_fault.add(event["ts"])
        ok, backend = self.deliver(raw, {}, None)
        other = self.bots[1 - backend] if backend in (0, 1) else self.bots[asker % 2]
        if not ok or retry:  # Slack redelivers; here always to the other process
            # a deliberate retry says either reason Slack gives for an ack it did not see
            reason = "http_error" if not ok or asker % 2 else "http_timeout"
            headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": reason}
            if not self.deliver(raw, headers, other.port)[0]:
                self.deliver(raw, {**headers, "X-Slack-Retry-Num": "2"}, None)
        end = time.perf_counter() + self.timeout
        while time.perf_counter() < end and not self.api.posts_in(event["ts"]):
            time.sleep(0.02)

    def run(
        self, questions: list[str], askers: int, retry_share: float, fault_at: float, fault: Any
    ) -> None:
        rng = random.Random(7)
        plan = [(q, rng.random() < retry_share) for q in questions]
        work = iter(enumerate(plan))
        lock = threading.Lock()
        fault_index = int(len(plan) * fault_at)
        faults: list[threading.Thread] = []

        def worker(asker: int) -> None:
            while True:
                with lock:
                    item = next(work, None)
                if item is None:
                    return
                i, (q, retry) = item
                if i == fault_index:
                    faults.append(threading.Thread(target=fault, args=(self,), daemon=True))
                    faults[-1].start()
                self.ask(asker, q, retry)

        threads = [threading.Thread(target=worker, args=(a,)) for a in range(askers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for t in faults:  # a restart still under way finishes before the pass is counted
            t.join(300)
        time.sleep(2.0)  # a late duplicate would arrive by now

    def figures(self) -> dict[str, Any]:
        counts = {ts: len(self.api.posts_in(ts)) for ts in self.sent}
        first_post = {}
        for call in self.api.calls_to("chat.postMessage"):
            ts = call["body"].get("thread_ts")
            if ts in self.sent and ts not in first_post and call.get("status") == 200:
                first_post[ts] = call["t"]
        latencies = [(first_post[ts] - self.sent[ts]) * 1000 for ts in first_post]
        n = len(counts)
        return {
            "events": n,
            "exactly_once": round(sum(c == 1 for c in counts.values()) / n, 4),
            "lost": sum(c == 0 for c in counts.values()),
            "answered_twice_or_more": sum(c > 1 for c in counts.values()),
            "deliveries_reaching_a_process": len(self.acks),
            "deliveries_refused": self.refused,
            "acked_lt_3s": round(sum(ok for _, ok in self.acks) / max(len(self.acks), 1), 4),
            "ack_ms": pct([t * 1000 for t, _ in self.acks]),
            "answer_ms": pct(latencies),
            "events_during_fault": len(self.during_fault),
            "lost_during_fault": sum(counts[ts] == 0 for ts in self.during_fault),
        }


def restart(bot: Bot):
    def fault(p: Pass) -> None:
        p.fault.set()
        log(f"restarting {bot.name}")
        bot.stop(signal.SIGTERM)
        bot.start()
        took = bot.wait_ready()
        log(f"{bot.name} ready again after {took:.1f}s")
        p.fault.clear()

    return fault


def pg_restart(cluster: Any):
    def fault(p: Pass) -> None:
        p.fault.set()
        log("restarting PostgreSQL")
        t = time.perf_counter()
        cluster.restart()
        log(f"PostgreSQL back after {time.perf_counter() - t:.1f}s")
        time.sleep(2.0)  # "during the fault": the bots reconnect in these seconds
        p.fault.clear()

    return fault


def kill(bot: Bot):
    def fault(p: Pass) -> None:
        log(f"kill -9 {bot.name}")
        p.fault.set()
        bot.stop(signal.SIGKILL)
        time.sleep(5.0)  # "during the fault": the next few seconds after the kill
        p.fault.clear()

    return fault


# -- set-up ---------------------------------------------------------------------------------------
def questions(n: int) -> list[str]:
    golden = [json.loads(line)["question"] for line in SAMPLE_GOLDEN.read_text().splitlines()]
    return [golden[i % len(golden)] for i in range(n)]


def base_env(work: Path, s3: Any, bucket: str, api: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASKDESK_", "SLACK_", "AWS_"))}
    env.update(s3.env())
    env.update(
        ASKDESK_LANCEDB_URI=f"s3://{bucket}/askdesk",
        ASKDESK_SLACK_API_URL=api.base_url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        ASKDESK_EMBED_THREADS="1",
    )
    return env


def fleet(name: str, env: dict[str, str], work: Path, db: list[str]) -> list[Bot]:
    bots = []
    for i, tag in enumerate("AB"):
        data = work / f"{name}-{tag}"
        data.mkdir()
        bots.append(
            Bot(
                f"{name}-{tag}",
                {**env, "ASKDESK_DATA_DIR": str(data), "ASKDESK_DATABASE_URL": db[i]},
                work,
            )
        )
    return bots


def run_pass(
    name: str, bots: list[Bot], api: Any, n: int, args: Any, fault: Any | None, fault_at: float
) -> dict[str, Any]:
    for bot in bots:
        bot.start()
    for bot in bots:
        log(f"{bot.name} ready in {bot.wait_ready():.1f}s")
    proxy = Proxy(bots)
    p = Pass(name, api, proxy, bots, args.answer_timeout)
    t = time.perf_counter()
    p.run(questions(n), args.askers, args.retry_share, fault_at, fault or (lambda _p: None))
    wall = time.perf_counter() - t
    proxy.server.shutdown()
    for bot in bots:
        bot.stop()
    out = p.figures()
    out["wall_s"] = round(wall, 1)
    log(f"{name}: {json.dumps(out)}")
    return out


def pg_restart_pass(env: dict[str, str], work: Path, api: Any, args: Any) -> dict[str, Any]:
    """Two bots on a private PostgreSQL that is restarted part-way, answers taking a while."""
    cluster = start_private_postgres()
    try:
        # an uncited reply: the check falls back to the extractive answer, after the delay
        slow = Reply("The documentation covers this question well.", delay_s=args.llm_delay_s)
        with FakeOpenAI([slow]) as llm:
            llm_env = {
                **env,
                "ASKDESK_ANSWER_BACKEND": "llm",
                "ASKDESK_LLM_BASE_URL": llm.base_url,
                "ASKDESK_LLM_MODEL": "fake-model",
                "ASKDESK_LLM_STREAM": "false",
            }
            bots = fleet("pgrestart", llm_env, work, [cluster.url, cluster.url])
            out = run_pass(
                "pg restart", bots, api, args.pg_restart_events, args, pg_restart(cluster), 0.4
            )
        out["llm_delay_s"] = args.llm_delay_s
        return out
    finally:
        remove_private_postgres(cluster)


def main() -> None:
    ap = parser(__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=500)
    ap.add_argument("--kill-events", type=int, default=200)
    ap.add_argument("--baseline-events", type=int, default=100)
    ap.add_argument("--askers", type=int, default=20)
    ap.add_argument("--retry-share", type=float, default=0.2)
    ap.add_argument("--pg-restart-events", type=int, default=100)
    ap.add_argument("--llm-delay-s", type=float, default=3.0)
    ap.add_argument("--answer-timeout", type=float, default=60.0)
    ap.add_argument("--pg-url", default=os.environ.get("ASKDESK_TEST_PG_URL"))
    args = ap.parse_args()
    LOGS.mkdir(exist_ok=True)
    if not args.pg_url:
        sys.exit("needs PostgreSQL: set ASKDESK_TEST_PG_URL (bash .ci/postgres.sh prints one)")
    os.environ["ASKDESK_TEST_PG_URL"] = args.pg_url

    figures: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "date": time.strftime("%F")}
    s3 = start_moto()
    databases = fresh_database()
    pg = next(databases)
    try:
        with FakeSlackAPI() as api, tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            bucket = s3.make_bucket("askdesk-bench")
            env = base_env(work, s3, bucket, api)
            t = time.perf_counter()
            index = subprocess.run(
                [sys.executable, "-m", "askdesk", "index", str(SAMPLE_DOCS)],
                cwd=work,
                env={**env, "ASKDESK_DATA_DIR": str(work / "indexer"), "ASKDESK_DATABASE_URL": pg},
                capture_output=True,
                text=True,
                timeout=900,
            )
            if index.returncode != 0:
                sys.exit(f"indexing failed: {index.stderr[-500:]}")
            log(f"indexed the sample docs into S3 in {time.perf_counter() - t:.1f}s")
            if args.baseline_events:
                own = [f"sqlite:///{work / 'naive-A.db'}", f"sqlite:///{work / 'naive-B.db'}"]
                bots = fleet("naive", env, work, own)
                figures["baseline_per_process_sqlite"] = run_pass(
                    "baseline", bots, api, args.baseline_events, args, None, 1.0
                )
            if args.events:
                bots = fleet("restart", env, work, [pg, pg])
                figures["shared_pg_restart"] = run_pass(
                    "restart", bots, api, args.events, args, restart(bots[1]), 0.4
                )
            if args.kill_events:
                bots = fleet("kill", env, work, [pg, pg])
                figures["shared_pg_kill9"] = run_pass(
                    "kill -9", bots, api, args.kill_events, args, kill(bots[0]), 0.4
                )
            if args.pg_restart_events:
                figures["pg_server_restart"] = pg_restart_pass(env, work, api, args)
    finally:
        stop_moto(s3)
        next(databases, None)
    emit(figures, args.json, lambda: json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
