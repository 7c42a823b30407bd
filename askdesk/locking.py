"""A per-data-dir lock so two index runs never write the same table at once.

LanceDB would survive concurrent commits, but two runs would embed the same documents twice
and their reports would contradict each other; the second run should simply say so.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from askdesk.feedback.jobs import pid_alive


class Busy(Exception):
    """Another process holds the lock; the message names it."""


@contextmanager
def exclusive(path: Path, what: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise Busy(
                f"another {what} is running (pid {holder}); try again when it ends"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def live_holder(path: Path) -> int | None:
    """The pid of the process holding the lock, if it is alive; None when nobody holds it.

    Read-only (it never takes the lock, so it cannot make a starting run see Busy): the
    holder writes its pid on acquiring and clears it on release, and a killed holder
    leaves a pid that is no longer a live process.
    """
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return None
    if not text.isdigit():
        return None

    pid = int(text)
    return pid if pid_alive(pid) else None
