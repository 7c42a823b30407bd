"""Issue 9 ("Hardening"), indexing: each test reproduces one probe that broke `askdesk index`,
`status`, `ask` or `search` on real files, real LanceDB tables and real processes."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from askdesk.cli import app as cli
from askdesk.feedback.records import IndexRunRecord
from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import STAGING, TEXT_INDEX, ChunkIndex
from askdesk.retrieval.ingest import Ingester, diff_folder
from askdesk.retrieval.search import Searcher
from tests.conftest import write

runner = CliRunner()
NO_READ_CAPS = "dac_override,dac_read_search"


def invoke(*args: str):
    return runner.invoke(cli, list(args), catch_exceptions=True)


def _chunk_ids(index: ChunkIndex) -> list[str]:
    return sorted(index.table.to_arrow().column("chunk_id").to_pylist())


def _unprivileged() -> list[str]:
    """A command prefix under which this process's files with mode 000 are really unreadable:
    root reads them anyway unless it gives up CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")  # util-linux: essential in Debian
    if setpriv:
        drop = ",".join(f"-{c}" for c in NO_READ_CAPS.split(","))
        return [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}"]
    capsh = shutil.which("capsh")
    if capsh:
        return [capsh, f"--drop=cap_{NO_READ_CAPS.replace(',', ',cap_')}", "--"]
    pytest.skip("running as root without setpriv or capsh: cannot make a file unreadable")


def _reader(uri: Path) -> ChunkIndex:
    """A reader like a bot's, but checking for new versions on every read instead of every
    SEE_WRITES_WITHIN, so the test needs no sleep."""
    return ChunkIndex(uri, see_writes_within=timedelta(0))


def _cli(prefix: list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    env["ASKDESK_DATA_DIR"] = str(cwd / "data")
    command = [sys.executable, "-m", "askdesk", *args]
    if prefix and prefix[-1] == "--":  # capsh runs a shell command line
        command = ["-c", " ".join(f"'{a}'" for a in command)]
    return subprocess.run([*prefix, *command], cwd=cwd, env=env, capture_output=True, timeout=300)


# -- 1: unreadable files, symlink loops ---------------------------------------------------------


def test_an_unreadable_file_is_skipped_with_its_reason_and_the_run_completes(tmp_path, tiny_docs):
    prefix = _unprivileged()
    secret = write(tiny_docs, "locked.md", "# Locked\n\nNobody can read this page.\n")
    private = write(tiny_docs, "private/notes.md", "# Notes\n\nIn a folder nobody can list.\n")
    secret.chmod(0o000)
    private.parent.chmod(0o000)
    (tiny_docs / "loop-a.md").symlink_to("loop-b.md")
    (tiny_docs / "loop-b.md").symlink_to("loop-a.md")
    try:
        run = _cli(prefix, "index", str(tiny_docs), "--json", cwd=tmp_path)
        status = _cli(prefix, "status", str(tiny_docs), "--json", cwd=tmp_path)
    finally:
        secret.chmod(0o644)
        private.parent.chmod(0o755)
    assert run.returncode == 0, run.stderr.decode()
    report = json.loads(run.stdout)
    assert report["status"] == "ok" and report["docs_added"] == 3
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert reasons["locked.md"] == "cannot read file: Permission denied"
    assert reasons["loop-a.md"] == reasons["loop-b.md"] == "symbolic link loop"
    assert reasons["private/"] == "cannot read folder: Permission denied"

    assert status.returncode == 0, status.stderr.decode()
    info = json.loads(status.stdout)
    assert info["documents"] == 3 and info["last_run"]["status"] == "ok"
    assert info["changed_since_last_run"] == {"added": [], "changed": [], "removed": []}
    listed = {s["path"]: s["reason"] for s in info["skipped"]}
    assert listed == reasons  # 9c: listed as skipped, with the reason, not as "not indexed yet"


def test_a_file_that_becomes_unreadable_keeps_its_chunks(tmp_path, tiny_docs, embedder):
    """An unreadable file (or folder) is still there: its indexed chunks are not removed."""
    index = ChunkIndex(tmp_path / "lancedb")
    Ingester(index, embedder).run(tiny_docs)
    before = _chunk_ids(index)
    (tiny_docs / "keys.md").unlink()
    (tiny_docs / "keys.md").symlink_to("keys.md")  # unreadable now: a link to itself
    report = Ingester(index, embedder).run(tiny_docs)
    assert report.status == "ok" and not report.docs_removed
    assert [s["path"] for s in report.skipped] == ["keys.md"]
    assert _chunk_ids(index) == before


# -- 2: file names that are not UTF-8 --------------------------------------------------------


def test_a_non_utf8_file_name_is_indexed_recorded_and_printed_as_valid_utf8(tmp_path, tiny_docs):
    raw = os.fsencode(tiny_docs) + b"/bad\xffname.md"
    with open(raw, "wb") as f:
        f.write(b"# Refunds\n\nRefunds are issued within 14 days of a cancelled order.\n")
    run = _cli([], "index", str(tiny_docs), "--json", cwd=tmp_path)
    err = run.stderr.decode("utf-8")
    assert run.returncode == 0, err
    assert "Logging error" not in err and "could not record" not in err
    report = json.loads(run.stdout.decode("utf-8"))
    assert report["docs_added"] == 4 and report["skipped"] == []

    status = _cli([], "status", str(tiny_docs), "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr.decode()
    info = json.loads(status.stdout.decode("utf-8"))  # strict: fails on invalid UTF-8
    assert info["last_run"]["docs_added"] == 4  # this run was recorded, not an older one
    assert info["documents"] == 4 and not any(info["changed_since_last_run"].values())

    search = _cli([], "search", "refund cancelled order", "--json", cwd=tmp_path)
    hits = json.loads(search.stdout.decode("utf-8"))["hits"]
    assert hits[0]["doc_id"] == "bad\\xffname.md"  # the byte shown, the name still unique


# -- 3: a table without its full-text index ---------------------------------------------------


def test_search_answers_without_the_full_text_index_and_the_next_run_repairs_it(
    tmp_path, tiny_docs, embedder, caplog
):
    index = ChunkIndex(tmp_path / "lancedb")
    Ingester(index, embedder).run(tiny_docs)
    index.table.drop_index(TEXT_INDEX)  # as left by a crash before the index was built
    searcher = Searcher(_reader(tmp_path / "lancedb"), embedder)  # a bot's own handle
    with caplog.at_level(logging.WARNING, logger="askdesk.retrieval.search"):
        for mode in ("hybrid", "fts", "hybrid"):
            result = searcher.search("how do I rotate an API key", 3, mode=mode)
            assert result.hits and result.hits[0].doc_id == "keys.md"
            assert "fts" in result.unavailable
    warnings = [r for r in caplog.records if r.name == "askdesk.retrieval.search"]
    assert len(warnings) == 1 and warnings[0].mode == "fts"  # once, not per query

    report = Ingester(index, embedder).run(tiny_docs)  # nothing changed on disk
    assert report.docs_unchanged == 3 and report.chunks_embedded == 0
    assert index.has_text_index()
    repaired = searcher.search("retried with exponential backoff", 3, mode="fts")
    assert not repaired.unavailable and repaired.hits[0].doc_id == "guides/retries.txt"


def test_ask_and_search_work_on_an_index_without_full_text(env, tiny_docs):
    assert invoke("index", str(tiny_docs)).exit_code == 0
    ChunkIndex(env / "data" / "lancedb").table.drop_index(TEXT_INDEX)
    r = invoke("ask", "--json", "How do I rotate an API key?")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["sources"][0]["path"] == "keys.md"
    r = invoke("search", "retry backoff", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["hits"][0]["doc_id"] == "guides/retries.txt"
    r = invoke("index", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["docs_unchanged"] == 3
    assert ChunkIndex(env / "data" / "lancedb").has_text_index()


# -- 4: an atomic --rebuild --------------------------------------------------------------------


class _FailingEmbedder(Embedder):
    """The real model, failing (or hanging, for a kill) on the n-th embedding call."""

    def __init__(self, inner: Embedder, fail_on: int, hang: Path | None = None) -> None:
        super().__init__(inner.model_name)
        self._model = inner.model
        self.fail_on = fail_on
        self.hang = hang
        self.calls = 0

    def encode(self, texts, **kw):
        self.calls += 1
        if self.calls == self.fail_on:
            if self.hang is not None:
                self.hang.write_text("rebuilding")
                time.sleep(600)
            raise RuntimeError("disk full")
        return super().encode(texts, **kw)


def test_a_failed_rebuild_leaves_the_old_index_serving(tmp_path, tiny_docs, embedder):
    index = ChunkIndex(tmp_path / "lancedb")
    Ingester(index, embedder).run(tiny_docs)
    before = _chunk_ids(index)
    bot = Searcher(_reader(tmp_path / "lancedb"), embedder)  # a long-running bot's handle
    assert bot.search("rotate key", 3).hits

    failing = Ingester(index, _FailingEmbedder(embedder, fail_on=2), batch_chunks=1)
    with pytest.raises(RuntimeError, match="disk full"):
        failing.run(tiny_docs, rebuild=True)
    assert failing.last_report is not None and failing.last_report.status == "failed"
    assert _chunk_ids(bot.index) == before
    assert ChunkIndex(tmp_path / "lancedb", STAGING).count() > 0  # the partial build, aside
    result = bot.search("rotate key", 3)
    assert result.hits[0].doc_id == "keys.md" and not result.unavailable

    report = Ingester(index, embedder).run(tiny_docs, rebuild=True)
    assert report.status == "ok" and report.chunks_embedded == len(before)
    assert not ChunkIndex(tmp_path / "lancedb", STAGING).exists()
    # the bot sees the swapped-in table, with its full-text index, without reopening it
    assert _chunk_ids(bot.index) == before and bot.index.has_text_index()
    assert not bot.search("rotate key", 3, mode="fts").unavailable


def test_a_rebuild_with_another_model_swaps_the_schema_in_one_step(tmp_path, tiny_docs, embedder):
    index = ChunkIndex(tmp_path / "lancedb")
    Ingester(index, embedder).run(tiny_docs)
    other = _FailingEmbedder(embedder, fail_on=0)
    other.model_name = "some-other-model"
    Ingester(index, other).run(tiny_docs, rebuild=True)
    assert ChunkIndex(tmp_path / "lancedb").embed_model == other.version
    assert Searcher(index, other).search("rotate key", 3).hits[0].doc_id == "keys.md"


_KILLED_REBUILD = """
import sys
from pathlib import Path
from askdesk.settings import Settings
from askdesk.upkeep import index_folder
from askdesk.wiring import App
from askdesk.retrieval.ingest import Ingester
from tests.test_index_hardening import _FailingEmbedder

app = App(Settings())
slow = _FailingEmbedder(app.embedder, fail_on=2, hang=Path(sys.argv[2]))
app.ingester = lambda: Ingester(app.index, slow, batch_chunks=1)
index_folder(app, Path(sys.argv[1]), rebuild=True)
"""


def test_a_rebuild_killed_midway_keeps_the_old_index_and_shows_as_interrupted(env, tiny_docs):
    assert invoke("index", str(tiny_docs)).exit_code == 0
    lancedb = env / "data" / "lancedb"
    before = _chunk_ids(ChunkIndex(lancedb))
    marker = env / "embedding"
    cmd = [sys.executable, "-c", _KILLED_REBUILD, str(tiny_docs), str(marker)]
    child = subprocess.Popen(cmd, cwd=Path(__file__).parent.parent, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the rebuild never reached its second embedding batch"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(30)

    assert _chunk_ids(ChunkIndex(lancedb)) == before  # nothing lost, nothing duplicated
    assert ChunkIndex(lancedb, STAGING).count() > 0  # it was killed mid-rebuild, rows aside
    r = invoke("search", "retry backoff", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["hits"][0]["doc_id"] == "guides/retries.txt"
    r = invoke("status", "--json")
    last = json.loads(r.stdout)["last_run"]
    assert last["status"] == "interrupted" and "before it finished" in last["error"]
    assert "interrupted" in invoke("status").stdout

    r = invoke("index", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["docs_unchanged"] == 3
    assert not ChunkIndex(lancedb, STAGING).exists()
    from askdesk.feedback.store import FeedbackStore
    from askdesk.settings import Settings

    runs = FeedbackStore(Settings().database_location).index_runs.recent()
    assert [r["status"] for r in runs] == ["ok", "interrupted", "ok"]


# -- 9c: status on files every run skips -------------------------------------------------------


def test_status_lists_always_skipped_files_as_skipped_until_they_change(env, tiny_docs):
    (tiny_docs / "empty.md").write_text("")
    (tiny_docs / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog")
    assert invoke("index", str(tiny_docs)).exit_code == 0
    r = invoke("status", "--json")
    info = json.loads(r.stdout)
    assert info["changed_since_last_run"] == {"added": [], "changed": [], "removed": []}
    assert [s["path"] for s in info["skipped"]] == ["broken.pdf", "empty.md"]
    text = invoke("status").stdout
    assert "up to date" in text and "empty.md: empty file" in text

    (tiny_docs / "empty.md").write_text("# Now\n\nSome text about audit logs.\n")
    info = json.loads(invoke("status", "--json").stdout)
    assert info["changed_since_last_run"]["added"] == ["empty.md"]
    assert [s["path"] for s in info["skipped"]] == ["broken.pdf"]


def test_diff_folder_without_a_previous_run_lists_unreadable_links_as_skipped(
    tmp_path, tiny_docs, embedder
):
    (tiny_docs / "gone.md").symlink_to("nowhere.md")
    index = ChunkIndex(tmp_path / "lancedb")
    diff = diff_folder(tiny_docs, index)
    assert diff.skipped == [
        {"path": "gone.md", "reason": "broken symbolic link (its target is missing)"}
    ]
    assert len(diff.added) == 3


def test_a_running_row_is_completed_or_closed_as_interrupted(tmp_path):
    from askdesk.feedback.index_runs import ABANDONED_RUN
    from askdesk.feedback.store import FeedbackStore

    with FeedbackStore(f"sqlite:///{tmp_path / 'store.db'}") as store:
        done = store.index_runs.start(docs_root="/docs", embed_model="m")
        killed = store.index_runs.start(docs_root="/docs", embed_model="m")
        assert store.index_runs.latest()["status"] == "running"  # type: ignore[index]
        assert store.index_runs.last_finished() is None  # not finished: not "the last run" yet
        report = IndexRunRecord(
            docs_root="/docs",
            embed_model="m",
            status="ok",
            docs_added=2,
            skipped=[{"path": "a", "reason": "b"}],
        )
        store.index_runs.finish(done, report)
        with pytest.raises(ValueError, match="status must be one of"):
            store.index_runs.finish(killed, replace(report, status="running"))
        assert store.index_runs.close_abandoned("/elsewhere") == 0
        assert store.index_runs.close_abandoned("/docs") == 1
        rows = {r["id"]: r for r in store.index_runs.recent()}
        assert rows[done]["status"] == "ok" and rows[done]["docs_added"] == 2
        assert rows[done]["finished_at"] is not None
        assert rows[killed]["status"] == "interrupted" and rows[killed]["error"] == ABANDONED_RUN
