"""Issue 20 D11: one index writer per LanceDB location, whatever database each uses.

Real processes: two `askdesk index` runs, each with its own data dir and so its own SQLite
(the fleet lock cannot see the other), on one LanceDB location — a local folder and an S3
prefix on a real S3 API (moto_server on 127.0.0.1). Before the fix both wrote: one crashed
("Table … already exists") and every chunk was stored twice. Now one writes and the other
is refused with one line (or, had they not overlapped, runs after it); never a duplicate.
A refused run changes nothing; a run killed with -9 mid-write is undone by the next writer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TINY_DOCS

from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.writer_lock import LOCK_NAME, Tables, WriterBusy, index_writer
from askdesk.testing.s3_loopback import S3, needs_moto, start_moto, stop_moto

pytestmark = pytest.mark.timeout(600)
REPO = Path(__file__).resolve().parents[1]
ASKDESK = [sys.executable, "-c", "from askdesk.cli import main; main()"]


@pytest.fixture(scope="module")
def s3() -> Iterator[S3]:
    server = start_moto()
    yield server
    stop_moto(server)


def _env(tmp_path: Path, name: str, uri: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASKDESK_", "AWS_"))}
    env.update(extra)
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "ASKDESK_DATA_DIR": str(tmp_path / name),  # its own SQLite
            "ASKDESK_LANCEDB_URI": uri,
            "ASKDESK_CONFIG": str(tmp_path / "none.toml"),
            "ASKDESK_EMBED_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
        }
    )
    return env


def _location(request, tmp_path: Path, s3_server) -> tuple[str, dict[str, str], dict[str, str]]:
    """(uri, environment for the processes, LanceDB storage options for the test's reads)"""
    if request.param == "local":
        return str(tmp_path / "shared-lancedb"), {}, {}
    bucket = s3_server.make_bucket(f"desk-{os.getpid()}-{time.monotonic_ns() % 10**8}")
    return f"s3://{bucket}/desk", s3_server.env(), s3_server.options()


@pytest.fixture(params=["local", pytest.param("s3", marks=needs_moto)])
def location(request, tmp_path):
    s3_server = request.getfixturevalue("s3") if request.param == "s3" else None
    return _location(request, tmp_path, s3_server)


def _chunks(uri: str, options: dict[str, str]) -> list[tuple[str, int]]:
    index = ChunkIndex(uri, storage_options=options)
    if not index.exists():
        return []
    rows = index.table.search().select(["doc_id", "ordinal"]).limit(None).to_list()
    return [(r["doc_id"], r["ordinal"]) for r in rows]


def test_two_index_runs_at_once_never_store_a_chunk_twice(tmp_path, tiny_docs, location):
    uri, env, options = location
    runs = [
        subprocess.Popen(
            [*ASKDESK, "index", str(tiny_docs)],
            env=_env(tmp_path, f"data-{name}", uri, env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    results = [(p.wait(timeout=500), *p.communicate()) for p in runs]
    codes = sorted(code for code, _, _ in results)
    refused = [err for code, _, err in results if code == 2]
    assert codes in ([0, 0], [0, 2]), results
    for err in refused:  # one clear line, naming the location
        lines = [line for line in err.splitlines() if line.strip()]
        assert lines[-1].startswith("error: another index run") and uri in lines[-1], err
        assert "Traceback" not in err
    chunks = _chunks(uri, options)
    assert chunks and not [c for c, n in Counter(chunks).items() if n > 1]
    assert {d for d, _ in chunks} == set(TINY_DOCS)


def _index(
    tmp_path: Path, docs: Path, data: str, uri: str, env: dict[str, str], *, json: bool = False
) -> subprocess.CompletedProcess[str]:
    """One `askdesk index` process with its own data dir (and so its own SQLite)."""
    return subprocess.run(
        [*ASKDESK, "index", *(["--json"] if json else []), str(docs)],
        env=_env(tmp_path, data, uri, env),
        capture_output=True,
        text=True,
        timeout=500,
    )


def _versions(uri: str, options: dict[str, str]) -> dict[str, int]:
    return ChunkIndex(uri, storage_options=options).table_versions()


def test_a_refused_run_says_who_writes_and_changes_nothing(tmp_path, tiny_docs, location):
    uri, env, options = location
    first = _index(tmp_path, tiny_docs, "data-a", uri, env)
    assert first.returncode == 0, first.stderr
    before = _versions(uri, options)
    index = ChunkIndex(uri, storage_options=options)
    tables = Tables(index.table_versions, index.restore_versions)
    (tiny_docs / "keys.md").write_text("# Keys\n\nEverything about keys changed.\n")
    with index_writer(uri, tables, storage_options=options):  # a writer in this process
        second = _index(tmp_path, tiny_docs, "data-b", uri, env)
    assert second.returncode == 2
    assert second.stderr.strip().splitlines()[-1].startswith("error: another index run")
    assert f"pid {os.getpid()}" in second.stderr
    assert _versions(uri, options) == before  # nothing written, not even a table created


_WRITER = textwrap.dedent(
    """
    import json, sys, time
    from askdesk.retrieval.index import ChunkIndex
    from askdesk.retrieval.writer_lock import Tables, index_writer

    uri, options = sys.argv[1], json.loads(sys.argv[2])
    index = ChunkIndex(uri, storage_options=options)
    tables = Tables(index.table_versions, index.restore_versions)
    with index_writer(uri, tables, storage_options=options, lease_s=30):
        index.delete_documents(["keys.md"])  # a first batch committed...
        print("written", flush=True)
        time.sleep(600)  # ...and the process dies before the run ends
    """
)


def test_a_run_killed_mid_write_is_undone_by_the_next_writer(tmp_path, tiny_docs, location):
    uri, env, options = location
    first = _index(tmp_path, tiny_docs, "data-a", uri, env)
    assert first.returncode == 0, first.stderr
    before = sorted(_chunks(uri, options))
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, uri, json.dumps(options)],
        env=_env(tmp_path, "data-w", uri, env),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "written"
        assert "keys.md" not in {d for d, _ in _chunks(uri, options)}  # the half-done run
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(30)
    again = _index(tmp_path, tiny_docs, "data-b", uri, env, json=True)
    assert again.returncode == 0, again.stderr
    # the dead run's deletion was undone before this run looked: nothing to re-add
    assert sorted(_chunks(uri, options)) == before
    report = json.loads(again.stdout)
    assert report["docs_added"] == 0 and report["docs_changed"] == 0, report


def test_the_lock_object_is_gone_after_a_run(tmp_path, tiny_docs, location):
    uri, env, options = location
    done = _index(tmp_path, tiny_docs, "data-a", uri, env)
    assert done.returncode == 0, done.stderr
    index = ChunkIndex(uri, storage_options=options)
    tables = Tables(index.table_versions, index.restore_versions)
    with (
        index_writer(uri, tables, storage_options=options),
        pytest.raises(WriterBusy),  # held means held, in this process too
        index_writer(uri, tables, storage_options=options),
    ):
        pass
    if "://" not in uri:
        assert (Path(uri) / LOCK_NAME).read_text() == ""  # released: nothing to undo
