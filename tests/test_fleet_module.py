"""Fleet coordination lives in one module, and its claim counter is safe between threads.

`askdesk.feedback.fleet` is the only place with PostgreSQL lock SQL (advisory locks, pg_locks,
row-claiming FOR UPDATE / SKIP LOCKED): a grep over the source tree fails on any other file
that has some. The sweep counter (every SWEEP_EVERY-th claim also deletes every expired
claim) was one plain int shared by every store of the process and updated without a lock;
it is now one locked counter per store.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import CodeType

from askdesk.feedback.fleet import EveryNth
from askdesk.feedback.store import FeedbackStore

ROOT = Path(__file__).resolve().parents[1]
COORDINATION = ROOT / "feedback" / "fleet.py"
LOCK_SQL = re.compile(r"pg_advisory|pg_try_advisory|pg_locks|SKIP LOCKED|FOR UPDATE|skip_locked")
SKIPPED = {"tests", ".venv", "build", "dist", "node_modules"}


def _sources() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*.py")
        if not SKIPPED & set(path.relative_to(ROOT).parts[:-1])
        and not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
    ]


def test_lock_sql_appears_only_in_the_coordination_module():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in _sources()
        if path != COORDINATION
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if LOCK_SQL.search(line)
    ]
    assert offenders == [], "PostgreSQL lock SQL outside feedback/fleet.py:\n" + "\n".join(
        offenders
    )
    assert LOCK_SQL.search(COORDINATION.read_text())  # the check looks for the right words
    assert len(_sources()) > 100  # and walks the real tree


def _race(due: Callable[[], bool], code: CodeType, threads: int = 4, calls: int = 200) -> int:
    """How many of `threads` × `calls` concurrent calls of `due` said "due", with every
    thread made to yield between the lines of `code` (a tracer sleeps on each line), so a
    read-modify-write without a lock is interleaved as it can be on a busy machine."""

    def tracer(frame, event, arg):
        if frame.f_code is not code:
            return None

        def on_line(frame, event, arg):
            if event == "line":
                time.sleep(0.0001)
            return on_line

        return on_line

    counts = [0] * threads

    def work(i: int) -> None:
        counts[i] = sum(due() for _ in range(calls))

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    threading.settrace(tracer)
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        threading.settrace(None)  # type: ignore[arg-type]
    return sum(counts)


_old_count = [0]


def _old_sweep_due() -> bool:
    """The counter as it was (store.py before issue 24), kept to show the race is real."""
    _old_count[0] += 1
    if _old_count[0] >= 20:
        _old_count[0] = 0
        return True
    return False


def test_the_sweep_counter_counts_exactly_under_threads():
    # the unlocked counter miscounts under this schedule: the test can tell
    assert _race(_old_sweep_due, _old_sweep_due.__code__) != 4 * 200 // 20
    counter = EveryNth(20)
    assert _race(counter.due, EveryNth.due.__code__) == 4 * 200 // 20


def test_each_store_counts_its_own_claims(tmp_path):
    a = FeedbackStore(f"sqlite:///{tmp_path / 'a.db'}")
    b = FeedbackStore(f"sqlite:///{tmp_path / 'b.db'}")
    with a, b:
        assert a.fleet._sweep is not b.fleet._sweep
        for n in range(a.fleet._sweep.n - 1):
            assert b.fleet.claim(f"b{n}")  # another store's claims do not move a's count
        assert a.fleet._sweep.due() is False
