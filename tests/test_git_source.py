"""A real git repository made in the test, synced through git+file:// (no network)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from askdesk.retrieval.gitsource import GitError, GitSource
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import Searcher
from tests.conftest import write

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, env=ENV, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def make_repo(root: Path) -> Path:
    repo = root / "origin"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo, "docs/keys.md", "# API keys\n\nRotate an API key from Settings, API keys.\n")
    write(repo, "docs/plans.md", "# Plans\n\nThe Team plan costs 49 dollars per month.\n")
    write(repo, "docs/old.md", "# Old\n\nThe legacy exporter writes CSV files nightly.\n")
    write(repo, "src/app.py", "print('not docs')\n")
    write(repo, "README.md", "# Repo\n\nOutside the docs folder.\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first")
    return repo


def test_a_repository_syncs_only_what_changed_with_renames_and_deletions(
    tmp_path: Path, embedder
):
    repo = make_repo(tmp_path)
    url = f"git+file://{repo}"
    source = GitSource(
        url,
        tmp_path / "state",
        name="code",
        subdir="docs",
        web_url="https://git.example.com/blob/{commit}/{path}",
    )
    index = ChunkIndex(tmp_path / "lancedb")
    ing = Ingester(index, embedder)
    first = ing.run(source)
    first_commit = git(repo, "rev-parse", "HEAD")
    assert first.status == "ok" and first.revision == first_commit
    assert sorted(first.docs_added) == ["code/keys.md", "code/old.md", "code/plans.md"]
    assert first.ignored == 0  # src/ and README.md are outside the sub-folder

    hit = Searcher(index, embedder).search("rotate an API key", k=1).hits[0]
    assert hit.doc_id == "code/keys.md"
    assert hit.url == f"https://git.example.com/blob/{first_commit}/docs/keys.md"

    # a rename (same text), a deletion, an edit, and a commit on another branch
    git(repo, "mv", "docs/plans.md", "docs/pricing.md")
    git(repo, "rm", "-q", "docs/old.md")
    write(repo, "docs/keys.md", "# API keys\n\nRotate an API key from Settings. Keys expire.\n")
    git(repo, "commit", "-qam", "second")
    git(repo, "checkout", "-q", "-b", "next")
    write(repo, "docs/next.md", "# Next\n\nOnly on the next branch.\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "branch")
    git(repo, "checkout", "-q", "main")
    second_commit = git(repo, "rev-parse", "main")

    second = ing.run(source)
    assert second.revision == second_commit
    assert second.docs_added == ["code/pricing.md"] and second.docs_changed == ["code/keys.md"]
    assert sorted(second.docs_removed) == ["code/old.md", "code/plans.md"]
    changes = second.notes["changes"]
    assert changes["since"] == first_commit
    assert changes["renamed"] == [["docs/plans.md", "docs/pricing.md"]]
    assert changes["counts"] == {"R": 1, "D": 1, "M": 1}
    # the renamed page's text was embedded before: only the edited page costs embeddings
    assert 0 < second.chunks_embedded <= 2

    # nothing changed: nothing read, nothing embedded
    third = ing.run(source)
    assert third.docs_unchanged == 2 and not (third.docs_added or third.docs_changed)
    assert third.chunks_embedded == 0 and "changes" not in third.notes

    # another branch
    branch = GitSource(url, tmp_path / "state-next", name="next", subdir="docs", branch="next")
    report = ing.run(branch)
    assert "next/next.md" in report.docs_added


def test_a_missing_repository_is_one_line_and_keeps_the_token_secret(tmp_path: Path, embedder):
    secret = "ghp_s3cr3tvalue"
    source = GitSource(
        f"git+file://{tmp_path}/nope.git", tmp_path / "state", name="gone", token=secret
    )
    with pytest.raises(GitError) as err:
        source.list_items()
    message = str(err.value)
    assert "\n" not in message and secret not in message and message.startswith("git clone")

    creds = GitSource("git+https://user:pw@127.0.0.1:9/r.git", tmp_path / "s2", token=secret)
    assert creds.location == "git+https://127.0.0.1:9/r.git"
    with pytest.raises(GitError) as err:
        creds.list_items()
    assert "pw" not in str(err.value) and secret not in str(err.value)
