"""Incremental indexing against real LanceDB folders and the real packaged model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import ChunkIndex, IndexUnavailable
from askdesk.retrieval.ingest import Ingester, diff_folder
from tests.conftest import write


def _ingest(tmp_path: Path, embedder: Embedder, **kw) -> tuple[ChunkIndex, Ingester]:
    index = ChunkIndex(tmp_path / "lancedb")
    return index, Ingester(index, embedder, **kw)


def _chunk_ids(index: ChunkIndex) -> list[str]:
    return index.table.to_arrow().column("chunk_id").to_pylist()


def test_first_run_indexes_everything_and_builds_text_index(tmp_path, tiny_docs, embedder):
    index, ing = _ingest(tmp_path, embedder)
    report = ing.run(tiny_docs)
    assert sorted(report.docs_added) == ["billing/plans.md", "guides/retries.txt", "keys.md"]
    assert report.status == "ok" and not report.skipped
    assert report.chunks_added == index.count() == report.chunks_embedded > 0
    assert {i.name for i in index.table.list_indices()} >= {"text_idx"}
    assert index.embed_model == embedder.version
    assert report.table_version == index.version


def test_second_run_without_changes_embeds_nothing_and_writes_nothing(
    tmp_path, tiny_docs, embedder
):
    index, ing = _ingest(tmp_path, embedder)
    ing.run(tiny_docs)
    version = index.version
    report = ing.run(tiny_docs)
    assert report.docs_unchanged == 3
    assert report.chunks_embedded == 0 and not report.docs_added and not report.docs_changed
    assert index.version == version


def test_changed_document_reembeds_only_new_text(tmp_path, tiny_docs, embedder):
    index, ing = _ingest(tmp_path, embedder)
    ing.run(tiny_docs)
    before = set(_chunk_ids(index))
    keys = tiny_docs / "keys.md"
    keys.write_text(keys.read_text() + "\n## Listing keys\n\nRun tw keys list to see every key.\n")
    report = ing.run(tiny_docs)
    assert report.docs_changed == ["keys.md"] and report.docs_unchanged == 2
    assert report.chunks_embedded == 1  # only the new section's chunk
    after = _chunk_ids(index)
    assert len(after) == len(set(after))  # no duplicates
    assert len(set(after) - before) == 1


def test_deleted_document_is_removed(tmp_path, tiny_docs, embedder):
    index, ing = _ingest(tmp_path, embedder)
    ing.run(tiny_docs)
    (tiny_docs / "billing" / "plans.md").unlink()
    report = ing.run(tiny_docs)
    assert report.docs_removed == ["billing/plans.md"] and report.chunks_removed >= 1
    docs = set(index.table.to_arrow().column("doc_id").to_pylist())
    assert docs == {"keys.md", "guides/retries.txt"}


def test_bad_files_are_skipped_with_reasons_and_the_run_completes(tmp_path, tiny_docs, embedder):
    (tiny_docs / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog")
    (tiny_docs / "empty.md").write_text("")
    (tiny_docs / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (tiny_docs / "latin.rst").write_bytes("Titre\n=====\n\ncaf\xe9 \xff\xfe\x00".encode("latin-1"))
    (tiny_docs / "picture.png").write_bytes(b"\x89PNG\r\n")
    write(tiny_docs, ".hidden/secret.md", "# Secret\n\nnot indexed")
    index, ing = _ingest(tmp_path, embedder)
    report = ing.run(tiny_docs)
    reasons = {s["path"]: s["reason"] for s in report.skipped}
    assert set(reasons) == {"broken.pdf", "empty.md", "binary.txt", "latin.rst"}
    assert all(r and "\n" not in r for r in reasons.values())
    assert "PDF" in reasons["broken.pdf"] and "empty" in reasons["empty.md"]
    assert report.ignored == 1  # the png
    assert len(report.docs_added) == 3
    assert "secret" not in " ".join(index.table.to_arrow().column("doc_id").to_pylist())


def test_changed_document_that_breaks_keeps_its_previous_chunks(tmp_path, tiny_docs, embedder):
    index, ing = _ingest(tmp_path, embedder)
    ing.run(tiny_docs)
    n = index.count()
    (tiny_docs / "keys.md").write_bytes(b"\x00\x01\x02 garbage \xff" * 50)
    report = ing.run(tiny_docs)
    assert [s["path"] for s in report.skipped] == ["keys.md"]
    assert index.count() == n  # nothing lost


class _InterruptingEmbedder(Embedder):
    """The real model, but Ctrl-C arrives during the second embedding batch."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner.model_name)
        self._model = inner.model
        self.calls = 0

    def encode(self, texts, **kw):
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return super().encode(texts, **kw)


def test_interrupted_run_keeps_index_usable_and_next_run_completes(tmp_path, tiny_docs, embedder):
    index = ChunkIndex(tmp_path / "lancedb")
    ing = Ingester(index, _InterruptingEmbedder(embedder), batch_chunks=1)
    with pytest.raises(KeyboardInterrupt):
        ing.run(tiny_docs)
    assert ing.last_report is not None and ing.last_report.status == "interrupted"
    partial = index.count()
    assert partial > 0  # the first batch was committed and is searchable
    from askdesk.retrieval.search import Searcher

    assert Searcher(index, embedder).search("rotate key", 3).hits
    report = Ingester(index, embedder).run(tiny_docs)
    assert report.docs_unchanged >= 1 and report.status == "ok"
    ids = _chunk_ids(index)
    assert len(ids) == len(set(ids))
    full_index, full = _ingest(tmp_path / "fresh", embedder)
    full.run(tiny_docs)
    assert sorted(ids) == sorted(_chunk_ids(full_index))


def test_changing_the_embedding_model_requires_rebuild(tmp_path, tiny_docs, embedder):
    index, ing = _ingest(tmp_path, embedder)
    ing.run(tiny_docs)
    other = _InterruptingEmbedder(embedder)
    other.model_name = "some-other-model"
    with pytest.raises(IndexUnavailable, match="--rebuild"):
        Ingester(index, other).run(tiny_docs)


def test_rebuild_reembeds_everything(tmp_path, tiny_docs, embedder):
    index, ing = _ingest(tmp_path, embedder)
    first = ing.run(tiny_docs)
    again = ing.run(tiny_docs, rebuild=True)
    assert again.chunks_embedded == first.chunks_embedded and index.count() == first.chunks_added


def test_missing_docs_folder_is_a_clear_error(tmp_path, embedder):
    _, ing = _ingest(tmp_path, embedder)
    with pytest.raises(FileNotFoundError, match="docs folder not found"):
        ing.run(tmp_path / "nope")


def test_unreadable_index_folder_is_reported_not_destroyed(tmp_path, tiny_docs, embedder):
    _, ing = _ingest(tmp_path, embedder)
    ing.run(tiny_docs)
    table_dir = tmp_path / "lancedb" / "chunks.lance"
    shutil.rmtree(table_dir / "_versions")
    (table_dir / "_versions").write_text("garbage")
    fresh = ChunkIndex(tmp_path / "lancedb")
    with pytest.raises(IndexUnavailable, match="unreadable"):
        _ = fresh.table
    assert (table_dir / "_versions").read_text() == "garbage"


def test_diff_folder_reports_changes_since_last_run(tmp_path, tiny_docs, embedder):
    index, ing = _ingest(tmp_path, embedder)
    ing.run(tiny_docs)
    write(tiny_docs, "new.md", "# New\n\nA new page about audit logs and retention.")
    (tiny_docs / "keys.md").write_text((tiny_docs / "keys.md").read_text() + "\nMore.\n")
    (tiny_docs / "guides" / "retries.txt").unlink()
    diff = diff_folder(tiny_docs, index)
    assert [f.doc_id for f in diff.added] == ["new.md"]
    assert [f.doc_id for f in diff.changed] == ["keys.md"]
    assert diff.removed == ["guides/retries.txt"]
