"""What the docs miss: question clusters (askdesk.core.gaps) on the real embedding model, and index
freshness (askdesk.core.freshness) on a real LanceDB index of a real folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from askdesk.core.freshness import index_freshness
from askdesk.core.gaps import cluster_questions
from tests.conftest import write

EXPORT = [
    "How do I export my data to CSV?",
    "How can I export my data as a CSV file?",
    "Export data to CSV — how?",
]
TRANSFER = ["Can I pay by bank transfer?", "Do you accept bank transfers for payment?"]
OUTLIER = "What is the office dog's name?"


def items(questions: list[str], first_id: int = 1) -> list[dict[str, Any]]:
    return [{"id": first_id + i, "question": q} for i, q in enumerate(questions)]


def test_paraphrases_group_and_the_outlier_stands_alone(embedder) -> None:
    questions = [EXPORT[0], TRANSFER[0], OUTLIER, EXPORT[1], "  how do I EXPORT my data to csv? "]
    questions += [TRANSFER[1], EXPORT[2]]
    clusters = cluster_questions(items(questions), embedder.encode)
    assert [c["count"] for c in clusters] == [4, 2, 1]
    export, transfer, outlier = clusters
    assert export["representative"] == EXPORT[0]
    assert sorted(export["interaction_ids"]) == [1, 4, 5, 7]
    assert export["interaction_ids"][:2] == [1, 5]  # the representative's repeats first
    assert set(export["examples"]) == set(EXPORT)  # repeats shown once
    assert sorted(transfer["interaction_ids"]) == [2, 6]
    assert outlier == {
        "representative": OUTLIER,
        "count": 1,
        "interaction_ids": [3],
        "examples": [OUTLIER],
        "hedged": 0,  # none of its questions was answered hedged
    }


def test_clusters_are_deterministic_and_limited(embedder) -> None:
    questions = EXPORT + TRANSFER + [OUTLIER]
    forward = cluster_questions(items(questions), embedder.encode)
    backward = cluster_questions(list(reversed(items(questions))), embedder.encode)
    assert [sorted(c["interaction_ids"]) for c in forward] == [
        sorted(c["interaction_ids"]) for c in backward
    ]
    assert forward == cluster_questions(items(questions), embedder.encode)
    assert len(cluster_questions(items(questions), embedder.encode, limit=2)) == 2
    # a looser threshold still keeps unrelated topics apart; 1.0 splits even paraphrases
    assert len(cluster_questions(items(questions), embedder.encode, threshold=0.5)) == 3
    assert len(cluster_questions(items(questions), embedder.encode, threshold=1.01)) == 6


def test_the_densest_question_seeds_the_cluster() -> None:
    """A chain a-b-c (a~b, b~c, a not~c) is claimed from b, the one most like the rest."""
    vectors = {"a": [1.0, 0.0], "b": [0.8, 0.6], "c": [0.28, 0.96]}  # a·b=.8 b·c=.8 a·c=.28
    calls: list[list[str]] = []

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return np.array([vectors[t] for t in texts]) * 3  # not normalized on purpose

    clusters = cluster_questions(items(["a", "b", "c", "", "a"]), encode, threshold=0.75)
    assert calls == [["a", "b", "c"]]  # blanks dropped, repeats encoded once
    assert clusters[0]["representative"] == "b" and clusters[0]["count"] == 4
    assert cluster_questions([], encode) == []


def test_a_few_thousand_questions_cluster_quickly() -> None:
    import time

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(50, 32))
    labels = np.arange(3000) % 50
    noisy = centres[labels] + rng.normal(scale=0.05, size=(3000, 32))
    lookup = {f"q{i}": noisy[i] for i in range(3000)}
    t = time.perf_counter()
    clusters = cluster_questions(
        items(list(lookup)), lambda ts: np.array([lookup[x] for x in ts]), limit=100
    )
    assert time.perf_counter() - t < 5
    assert len(clusters) == 50 and all(c["count"] == 60 for c in clusters)


# -- index freshness ------------------------------------------------------------------------


@pytest.fixture
def indexed(tmp_path: Path, tiny_docs: Path, embedder) -> tuple[Path, Any]:
    from askdesk.retrieval.index import ChunkIndex
    from askdesk.retrieval.ingest import Ingester

    index = ChunkIndex(tmp_path / "lancedb")
    Ingester(index, embedder).run(tiny_docs)
    return tiny_docs, index


def test_fresh_index_then_added_changed_removed(indexed: tuple[Path, Any]) -> None:
    docs, index = indexed
    finished = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    run = {"docs_root": str(docs), "finished_at": finished, "status": "ok"}
    info = index_freshness(docs, index, run)
    assert info["error"] is None and info["docs_changed"] == 0
    assert info["indexed"] and info["documents"] == 3 and info["chunks"] >= 3
    assert info["last_index_at"] == finished.isoformat() and info["last_status"] == "ok"

    write(docs, "keys.md", "# API keys\n\nKeys now expire after 90 days.\n")
    write(docs, "new/page.md", "# New\n\nA new page.\n")
    (docs / "guides" / "retries.txt").unlink()
    (docs / "notes.bin").write_bytes(b"\0")  # unsupported: ignored, not "added"
    info = index_freshness(None, index, run)  # the folder comes from the last run
    assert info["docs_root"] == str(docs)
    assert (info["added"], info["changed"], info["removed"]) == (
        ["new/page.md"],
        ["keys.md"],
        ["guides/retries.txt"],
    )
    assert info["docs_changed"] == 3


def test_freshness_never_raises(tmp_path: Path, indexed: tuple[Path, Any]) -> None:
    docs, index = indexed
    missing = index_freshness(tmp_path / "gone", index, None)
    assert "missing" in missing["error"] and missing["docs_changed"] is None
    assert missing["documents"] == 3  # what could be read is still there
    unknown = index_freshness(None, index, None)
    assert "askdesk index" in unknown["error"] and unknown["docs_changed"] is None

    class BrokenIndex:
        def exists(self) -> bool:
            return True

        def doc_chunk_counts(self) -> dict[str, int]:
            return {"a.md": 2}

        def doc_states(self) -> dict[str, str]:
            raise OSError("disk on fire\nsecond line")

    broken = index_freshness(docs, BrokenIndex(), None)  # type: ignore[arg-type]
    assert broken["error"].endswith("disk on fire") and broken["docs_changed"] is None
    assert broken["chunks"] == 2

    class Unreadable(BrokenIndex):
        def exists(self) -> bool:
            raise RuntimeError("unreadable table")

    assert "unreadable table" in index_freshness(docs, Unreadable(), None)["error"]  # type: ignore[arg-type]
