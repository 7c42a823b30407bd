"""Is the index up to date with the docs folder? The input of the "docs changed" reindex rule.

The dashboard calls this on a timer and shows the result beside everything else, so it never
raises: whatever goes wrong (folder gone, unreadable file, broken index) comes back as an
`error` string with as much of the rest as could be read.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askdesk.retrieval.ingest import diff_folder, diff_source
from askdesk.retrieval.sources import FolderSource

if TYPE_CHECKING:
    from askdesk.retrieval.index import ChunkIndex

log = logging.getLogger(__name__)

LIST_MAX = 500
"""Paths listed per kind (added/changed/removed); the counts are always complete."""


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return None if value is None else str(value)


def index_freshness(
    docs_root: Path | None, index: ChunkIndex, last_run: dict[str, Any] | None
) -> dict[str, Any]:
    """Docs added/changed/removed on disk since they were indexed, plus index size and the
    last run's time.

    `last_run` is the store's last IndexRun (or None); when `docs_root` is None its folder is
    used. `docs_changed` is None whenever the comparison could not be made, which the rules
    read as "unknown", never as "up to date".
    """
    if docs_root is None and last_run and last_run.get("docs_root"):
        docs_root = Path(str(last_run["docs_root"]))
    info: dict[str, Any] = {
        "docs_root": None if docs_root is None else str(docs_root),
        "indexed": False,
        "documents": 0,
        "chunks": 0,
        "last_index_at": _iso((last_run or {}).get("finished_at")),
        "last_status": (last_run or {}).get("status"),
        "added": [],
        "changed": [],
        "removed": [],
        "skipped": [],
        "docs_changed": None,
        "error": None,
    }
    try:
        info["indexed"] = index.exists()
        if info["indexed"]:
            counts = index.doc_chunk_counts()
            info["documents"] = len(counts)
            info["chunks"] = sum(counts.values())
    except Exception as exc:  # a broken index must not take the dashboard down
        info["error"] = f"cannot read the index: {_first_line(exc)}"
        log.warning("freshness: index unreadable", extra={"error": info["error"]})
        return info
    if docs_root is None:
        info["error"] = "no docs folder known yet: run `askdesk index DOCS_FOLDER` first"
        return info
    if not docs_root.is_dir():
        info["error"] = f"docs folder {docs_root} is missing or not a folder"
        return info
    try:
        # files the last run skipped, unchanged since, are not changes: reindexing skips them
        same_root = last_run and str(last_run.get("docs_root")) == str(docs_root.resolve())
        known = (last_run or {}).get("skipped") or () if same_root else ()
        diff = diff_folder(docs_root, index, known_skips=known)
    except Exception as exc:  # unreadable files, permissions, a folder vanishing mid-walk
        info["error"] = f"cannot compare {docs_root} with the index: {_first_line(exc)}"
        log.warning("freshness: diff failed", extra={"error": info["error"]})
        return info
    info["added"] = [f.doc_id for f in diff.added][:LIST_MAX]
    info["changed"] = [f.doc_id for f in diff.changed][:LIST_MAX]
    info["removed"] = diff.removed[:LIST_MAX]
    info["skipped"] = [{"path": s["path"], "reason": s["reason"]} for s in diff.skipped][:LIST_MAX]
    info["docs_changed"] = len(diff.added) + len(diff.changed) + len(diff.removed)
    return info


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def sources_overview(
    sources: list[tuple[str, str, str]],
    index: ChunkIndex,
    last_run: Any,
) -> list[dict[str, Any]]:
    """One row per configured source (name, kind, location): its documents in the index,
    its last sync (from `last_run(name)`, the store's last IndexRun of that source), the
    commit it was synced at, and its last error. Never raises, like `index_freshness`."""
    try:
        states = index.doc_states() if index.exists() else {}
        index_error = None
    except Exception as exc:
        states, index_error = {}, f"cannot read the index: {_first_line(exc)}"
    rows = []
    for name, kind, location in sources:
        try:
            run = last_run(name) or {}
        except Exception as exc:
            run = {"error": f"cannot read the runs: {_first_line(exc)}"}
        prefix = name + "/"
        rows.append(
            {
                "name": name,
                "kind": kind,
                "location": location,
                "documents": sum(1 for d in states if d.startswith(prefix)),
                "last_sync_at": _iso(run.get("finished_at")),
                "last_status": run.get("status"),
                "revision": run.get("revision"),
                "added": run.get("docs_added", 0),
                "changed": run.get("docs_changed", 0),
                "removed": run.get("docs_removed", 0),
                "skipped": len(run.get("skipped") or []),
                "error": index_error or run.get("error"),
            }
        )
    return rows


def with_pending(rows: list[dict[str, Any]], folders: dict[str, Path], index: ChunkIndex) -> None:
    """Add `pending` (documents added, changed or removed since the last sync) to the rows of
    folder sources; sites and repositories are only compared by syncing (`pending` None)."""
    for row in rows:
        row["pending"] = None
        root = folders.get(row["name"])
        if root is None:
            continue
        try:
            diff = diff_source(FolderSource(root, row["name"]), index)
            row["pending"] = len(diff.added) + len(diff.changed) + len(diff.removed)
        except Exception as exc:  # a folder gone or unreadable: say so on its row
            row["error"] = row.get("error") or f"cannot compare: {_first_line(exc)}"
