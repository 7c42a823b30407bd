"""Real `askdesk` processes, and which modules they imported: for the lean-import tests and
bench/cold_start.py.

The rule they enforce (README, "Installs"): answering, searching, status, the bots, the
dashboard and the HTTP surfaces never import the modules in HEAVY. Only indexing with a model
onnxruntime can't run, `askdesk style …` and an enabled style model may. A module that needs
one of them imports it inside the function that uses it, with a comment naming it.

Each process runs with PYTHONPROFILEIMPORTTIME=1, so its stderr lists every module it
imported, even when the process is stopped by a signal.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the source checkout (its PYTHONPATH root)
# torch and everything that drags it in: the optional `askdesk[style]` / `askdesk[torch]` extras
HEAVY = ("torch", "transformers", "sentence_transformers", "peft", "accelerate")
# imported only when the database has a migration pending (feedback/migrate.py): a cold
# `askdesk ask` on a current database skips their ~8 MB and ~0.15 s (issue 23)
MIGRATION_ONLY = ("alembic", "mako")
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # askdesk.testing.slack_payloads.SECRET


def clean_env(data_dir: Path, *, root: Path = ROOT, **extra: str) -> dict[str, str]:
    """The caller's environment without ASKDESK_* settings, data in `data_dir`; askdesk's
    code from `root` (another checkout: the bench's "before these changes")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    env.update(
        ASKDESK_DATA_DIR=str(data_dir),
        PYTHONPATH=str(root) + os.pathsep + env.get("PYTHONPATH", ""),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        **extra,
    )
    return env


def imported(stderr: str) -> set[str]:
    """Module names from `-X importtime` lines ("import time: self | cumulative | name")."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                names.add(name)
    return names


def heavy_in(stderr: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The `heavy` top-level modules a process imported (empty when it stayed lean)."""
    tops = {name.split(".")[0] for name in imported(stderr)}
    return sorted(tops.intersection(heavy))


def without_import_lines(stderr: str) -> str:
    return "\n".join(ln for ln in stderr.splitlines() if not ln.startswith("import time:"))


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float | None = None

    @property
    def heavy(self) -> list[str]:
        return heavy_in(self.stderr)

    @property
    def said(self) -> str:
        """stderr without the import-time lines: what a user would see."""
        return without_import_lines(self.stderr)


def run_cli(
    data_dir: Path, *args: str, importtime: bool = True, timeout: float = 600,
    root: Path = ROOT, **env: str,
) -> Run:
    """`askdesk ARGS` in a fresh interpreter (askdesk from `root`); wall time and peak RSS
    (from GNU time, else wait4)."""
    extra = {"PYTHONPROFILEIMPORTTIME": "1"} if importtime else {}
    # a child's ru_maxrss counts what it shared with this (maybe large) process between fork
    # and exec; GNU time, small when it forks, reports the command's own peak
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    peak_file = data_dir.parent / f".peak-{time.monotonic_ns()}"
    wrap = [gnu_time, "-f", "%M", "-o", str(peak_file)] if gnu_time else []
    t = time.perf_counter()
    proc = subprocess.Popen(
        [*wrap, sys.executable, "-m", "askdesk", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=data_dir.parent,
        env=clean_env(data_dir, root=root, **extra, **env),
    )
    out, err, code, peak = _wait_with_rusage(proc, timeout)
    if gnu_time:
        try:
            peak = int(peak_file.read_text().split()[-1]) / 1024
        except (OSError, ValueError, IndexError):
            peak = None
        peak_file.unlink(missing_ok=True)
    return Run(code, out, err, time.perf_counter() - t, peak)


def _wait_with_rusage(
    proc: subprocess.Popen, timeout: float
) -> tuple[str, str, int, float | None]:
    """Read both pipes, then reap the child with wait4 for its own peak RSS (ru_maxrss, KiB
    on Linux): Popen's wait would discard the child's resource usage."""
    got: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda n=n, f=f: got.__setitem__(n, f.read()), daemon=True)
        for n, f in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for r in readers:
        r.start()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join()
    return got.get("out", ""), got.get("err", ""), proc.returncode, usage.ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 120.0) -> float:
    """Seconds until 127.0.0.1:port accepts a connection."""
    t = time.perf_counter()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return time.perf_counter() - t
        except OSError:
            time.sleep(0.01)
    raise AssertionError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


@dataclass
class Server:
    """A long-running `askdesk` command (a bot, the dashboard) and its stderr file."""

    proc: subprocess.Popen
    log: Path
    started: float = field(default_factory=time.perf_counter)
    peak_rss_mb: float | None = None

    def stop(self, timeout: float = 60.0) -> str:
        """SIGTERM (drains like Ctrl-C), then the whole stderr. `peak_rss_mb`: the process's
        VmHWM just before the signal (its ru_maxrss would count what it shared with its
        parent between fork and exec)."""
        if self.proc.returncode is None:
            self.peak_rss_mb = _vm_hwm_mb(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            timer = threading.Timer(timeout, self.proc.kill)
            timer.start()
            try:
                _, status, _ = os.wait4(self.proc.pid, 0)
            finally:
                timer.cancel()
            self.proc.returncode = os.waitstatus_to_exitcode(status)
        return self.log.read_text(errors="replace")

    def stderr_so_far(self) -> str:
        return self.log.read_text(errors="replace")


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def start(data_dir: Path, *args: str, importtime: bool = True, **env: str) -> Server:
    """`askdesk ARGS` in the background, stderr to a file next to the data dir."""
    log = data_dir.parent / f"stderr-{args[0]}-{time.monotonic_ns()}.log"
    extra = {"PYTHONPROFILEIMPORTTIME": "1"} if importtime else {}
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "askdesk", *args],
            stdout=subprocess.DEVNULL,
            stderr=sink,
            stdin=subprocess.DEVNULL,
            cwd=data_dir.parent,
            env=clean_env(data_dir, **extra, **env),
        )
    return Server(proc, log)


def start_slack_http(data_dir: Path, api_url: str, port: int, **env: str) -> Server:
    """The Slack bot in HTTP mode on 127.0.0.1:port, talking to a fake Web API."""
    return start(
        data_dir, "slack", "--http", "--host", "127.0.0.1", "--port", str(port),
        SLACK_BOT_TOKEN="xoxb-111-222-leanbottoken",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        ASKDESK_SLACK_API_URL=api_url,
        **env,
    )
