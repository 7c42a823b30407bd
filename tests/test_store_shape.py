"""The feedback store is split by what it keeps: a small entry object holding repositories
over one database, written to with typed records, not a facade of every method."""

from __future__ import annotations

import dataclasses

import pytest

from askdesk.feedback.records import IndexRunRecord, InteractionRecord
from askdesk.feedback.store import FeedbackStore

REPOSITORIES = {"interactions", "index_runs", "styles", "fleet", "jobs", "privacy", "simulated"}


def test_the_entry_object_holds_repositories_and_no_facade(tmp_path):
    with FeedbackStore(f"sqlite:///{tmp_path / 'shape.db'}") as store:
        public = {
            name for name in set(vars(store)) | set(dir(type(store))) if not name.startswith("_")
        }
        assert public == REPOSITORIES | {"url", "db", "engine", "ping", "counts", "close"}
        assert all(getattr(store, name).db is store.db for name in REPOSITORIES)
        iid = store.interactions.record(InteractionRecord(platform="web", question="q", answer="a"))
        run = store.index_runs.record(IndexRunRecord(docs_root="/d", status="ok", embed_model="m"))
        assert store.interactions.get(iid)["question"] == "q"
        assert store.index_runs.latest()["id"] == run
        assert store.counts() == {"interactions": 1, "votes": 0, "index_runs": 1}


def test_records_are_typed_and_immutable():
    with pytest.raises(TypeError):
        InteractionRecord(platfrom="web", question="q", answer="a")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        InteractionRecord("web", "q", "a")  # type: ignore[misc]  # keywords only
    record = InteractionRecord(platform="web", question="q", answer="a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.answer = "b"  # type: ignore[misc]
