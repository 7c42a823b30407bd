"""The index on object storage: `lancedb_uri = "s3://bucket/prefix"` against a real S3 API
(moto_server on 127.0.0.1), with the real embedder and ingester.

Incremental runs, the full-text index, version history and rollback, freshness, a second
reader picking up new versions without a restart, and an unreachable bucket failing fast.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from conftest import write
from tcp_cut import CuttableRelay

from askdesk.core.freshness import index_freshness
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import FusionConfig, Searcher
from askdesk.testing.s3_loopback import S3, needs_moto, start_moto, stop_moto

pytestmark = needs_moto


@pytest.fixture(scope="module")
def s3() -> Iterator[S3]:
    server = start_moto()
    yield server
    stop_moto(server)


def test_indexing_searching_and_versions_on_s3(s3: S3, tiny_docs, embedder):
    uri = f"s3://{s3.make_bucket('kb-one')}/askdesk/lancedb"
    index = ChunkIndex(uri, storage_options=s3.options())
    first = Ingester(index, embedder).run(tiny_docs)
    assert len(first.docs_added) == 3 and first.chunks_added > 0
    v1 = index.version

    again = Ingester(index, embedder).run(tiny_docs)  # incremental: nothing to do
    assert again.docs_unchanged == 3 and again.chunks_embedded == 0

    write(tiny_docs, "keys.md", (tiny_docs / "keys.md").read_text() + "\nKeys expire yearly.\n")
    changed = Ingester(index, embedder).run(tiny_docs)
    assert changed.docs_changed == ["keys.md"] and changed.docs_unchanged == 2
    assert index.version > v1

    fts = Searcher(index, embedder, FusionConfig(mode="fts"))
    assert fts.search("rotate", k=3).hits[0].doc_id == "keys.md"  # the full-text index is there
    hybrid = Searcher(index, embedder)
    assert hybrid.search("how much is the team plan", k=3).hits[0].doc_id == "billing/plans.md"

    # freshness compares the docs folder with what the bucket holds
    fresh = index_freshness(tiny_docs, index, None)
    assert fresh["docs_changed"] == 0 and fresh["documents"] == 3 and fresh["error"] is None
    write(tiny_docs, "new.md", "# New\n\nA page the index has not seen yet.\n")
    assert index_freshness(tiny_docs, index, None)["added"] == ["new.md"]

    # version history and rollback, as on disk
    versions = [v["version"] for v in index.table.list_versions()]
    assert v1 in versions and index.version == max(versions)
    before = index.count()
    index.table.restore(v1)
    assert index.version > max(versions)  # a rollback is a new version with the old rows
    assert index.table.search().where("text LIKE '%expire yearly%'").to_list() == []
    assert index.count() <= before


def test_a_second_reader_sees_new_versions_without_a_restart(s3: S3, tiny_docs, embedder):
    uri = f"s3://{s3.make_bucket('kb-two')}/prefix"
    writer = ChunkIndex(uri, storage_options=s3.options())
    Ingester(writer, embedder).run(tiny_docs)
    reader = ChunkIndex(uri, storage_options=s3.options(), see_writes_within=timedelta(0))
    searcher = Searcher(reader, embedder, FusionConfig(mode="fts"))
    assert not searcher.search("quarantine", k=3).hits
    write(tiny_docs, "quarantine.md", "# Quarantine\n\nQuarantined deliveries wait 7 days.\n")
    Ingester(writer, embedder).run(tiny_docs)
    hits = searcher.search("quarantine", k=3).hits  # same reader object, no reopen
    assert hits and hits[0].doc_id == "quarantine.md"


def test_settings_storage_options_and_env_reach_lancedb(s3: S3, tmp_path, monkeypatch):
    from askdesk.settings import Settings
    from askdesk.wiring import App

    bucket = s3.make_bucket("kb-three")
    (tmp_path / "askdesk.toml").write_text(
        f'lancedb_uri = "s3://{bucket}/idx"\n\n[lancedb.storage_options]\n'
        + "".join(f'{k} = "{v}"\n' for k, v in s3.options().items())
    )
    monkeypatch.setenv("ASKDESK_CONFIG", str(tmp_path / "askdesk.toml"))
    app = App(Settings(data_dir=tmp_path / "data"))
    index = app.index
    assert index.storage_options["aws_endpoint"] == s3.endpoint
    assert index.storage_options["client_max_retries"] == "1"  # fail-fast default kept
    assert not index.exists()
    index.create(8, "test-model")
    assert index.exists() and index.count() == 0
    assert not (tmp_path / "data" / "lancedb").exists()  # nothing on local disk


def test_an_unreachable_bucket_fails_fast_and_the_last_version_serves_when_it_returns(
    s3: S3, tiny_docs, embedder
):
    relay = CuttableRelay("127.0.0.1", int(s3.endpoint.rsplit(":", 1)[1]))
    options = {**s3.options(), "aws_endpoint": f"http://127.0.0.1:{relay.port}"}
    uri = f"s3://{s3.make_bucket('kb-four')}/idx"
    try:
        index = ChunkIndex(uri, storage_options=options, see_writes_within=timedelta(0))
        Ingester(index, embedder).run(tiny_docs)
        version = index.version
        searcher = Searcher(index, embedder, FusionConfig(mode="fts"))
        assert searcher.search("rotate", k=1).hits
        relay.cut()  # the store stops answering
        t0 = time.perf_counter()
        try:  # the searcher reports the retriever unavailable (or raises): quickly, either way
            down = searcher.search("rotate", k=1)
            assert not down.hits and down.unavailable
        except Exception as exc:
            assert not isinstance(exc, AssertionError)
        assert time.perf_counter() - t0 < 20  # object_store's default retries take minutes
        relay.restore()
        hits = searcher.search("rotate", k=1).hits  # the same reader, no restart
        assert hits and hits[0].doc_id == "keys.md" and index.version == version
    finally:
        relay.close()
