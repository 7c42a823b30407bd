"""A private PostgreSQL cluster that a test may stop and restart for real.

The shared server (ASKDESK_TEST_PG_URL) must never be restarted: other tests use it. A test
about surviving a database restart starts its own cluster instead — `initdb` in a temporary
folder owned by the `postgres` user, `pg_ctl` on a free port on 127.0.0.1, trust
authentication for local connections — restarts it with `pg_ctl restart`, and removes it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("ASKDESK_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _can_run() -> str | None:
    if not (PG_BIN / "initdb").exists():
        return f"no PostgreSQL binaries in {PG_BIN}"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "needs root and runuser to run PostgreSQL as the postgres user"
    try:
        # optional: pwd (POSIX only; this private cluster needs a postgres user anyway)
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres user"
    return None


needs_private_pg = pytest.mark.skipif(_can_run() is not None, reason=str(_can_run()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivatePostgres:
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, timeout: float = 60) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        _as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", *args],
            timeout=timeout,
        )

    def start(self) -> None:
        self._ctl("-l", str(self.folder / "log"), "start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        """A real restart: every session ends, every session advisory lock is gone."""
        self._ctl("-l", str(self.folder / "log"), "restart", "-m", "fast")


def _as_postgres(command: list[str], timeout: float) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *command],
        check=True,
        timeout=timeout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_private_postgres() -> PrivatePostgres:
    folder = Path(tempfile.mkdtemp(prefix="askdesk-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    cluster = PrivatePostgres(folder, free_port())
    _as_postgres(
        [str(PG_BIN / "initdb"), "-D", str(cluster.data), "-A", "trust", "-U", "postgres"],
        timeout=120,
    )
    cluster.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", cluster.port)) == 0:
                return cluster
        time.sleep(0.1)
    raise RuntimeError("private PostgreSQL did not start")


def remove_private_postgres(cluster: PrivatePostgres) -> None:
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        cluster.stop()
    shutil.rmtree(cluster.folder, ignore_errors=True)
