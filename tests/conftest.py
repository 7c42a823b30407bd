"""Shared fixtures: the real packaged model, loaded once per session, and real tiny corpora."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from askdesk.feedback.store import FeedbackStore

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download at test time
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "askdesk" / "sample"


@pytest.fixture(scope="session")
def embedder():
    from askdesk.retrieval.embedding import Embedder

    e = Embedder(threads=2)
    _ = e.dimension  # load now, once
    return e


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A clean working folder for CLI runs: no ASKDESK_* leaking in, data under tmp_path."""
    for key in list(os.environ):
        if key.startswith("ASKDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASKDESK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def write(root: Path, rel: str, text: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


TINY_DOCS = {
    "keys.md": """# API keys

## Rotating a key

To rotate an API key, open Settings, choose API keys and click Rotate. The old key keeps
working for 24 hours so you can deploy the new one. Store keys in a secret manager.

```bash
tw keys rotate --name production
```

## Revoking a key

Revoking a key stops it at once. Requests signed with a revoked key get HTTP 401.
""",
    "billing/plans.md": """# Plans

## Team plan

The Team plan costs 49 dollars per month and includes 10 members and 1 million webhook
deliveries. Extra deliveries cost 5 dollars per 100,000.

## Free plan

The Free plan allows 2 members and 10,000 deliveries per month.
""",
    "guides/retries.txt": """Retries

HOW RETRIES WORK

Failed webhook deliveries are retried with exponential backoff: after 1 minute, 5 minutes,
30 minutes, 2 hours and 12 hours. After the fifth failure the delivery is marked dead.
""",
}


@pytest.fixture
def tiny_docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    for rel, text in TINY_DOCS.items():
        write(root, rel, text)
    return root


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, embedder):
    """The bundled sample docs indexed once into a real LanceDB folder for the session."""
    from askdesk.retrieval.index import ChunkIndex
    from askdesk.retrieval.ingest import Ingester

    base = tmp_path_factory.mktemp("sample")
    docs = base / "docs"
    shutil.copytree(SAMPLE / "docs", docs)
    index = ChunkIndex(base / "lancedb")
    report = Ingester(index, embedder).run(docs)
    return index, docs, report


@pytest.fixture(scope="session")
def sample_searcher(sample_index, embedder):
    from askdesk.retrieval.search import Searcher

    return Searcher(sample_index[0], embedder)


@pytest.fixture
def store(tmp_path) -> Iterator[FeedbackStore]:
    """A fresh SQLite feedback store (all migrations applied) in the test's own folder."""
    with FeedbackStore(f"sqlite:///{tmp_path / 'askdesk.db'}") as s:
        yield s
