"""What is in a docs folder on disk: the supported files, each with its content validator.

Below both the folder source (`askdesk.retrieval.sources.FolderSource` lists a folder with `scan`)
and the ingester, so neither has to import the other.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from askdesk.retrieval.documents import PIPELINE_VERSION, printable_path
from askdesk.retrieval.loaders import SUPPORTED_SUFFIXES


@dataclass
class SourceFile:
    doc_id: str
    path: Path
    doc_hash: str


@dataclass(frozen=True)
class FolderScan:
    """What is on disk: the files to index, and the ones that cannot even be read.

    `blocked` are folders that could not be listed: documents indexed from under them are
    kept, not removed, since they may well still be there.
    """

    files: list[SourceFile]
    ignored: int
    skipped: list[dict[str, str]]
    blocked: list[str]


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return f"{PIPELINE_VERSION}:{h.hexdigest()[:32]}"


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc) or type(exc).__name__).splitlines()[0][:120]


def scan(root: Path) -> FolderScan:
    """Walk `root` (hidden files and folders skipped, folder links not followed).

    Hashing happens here, so a file that cannot be read is reported as skipped with its
    reason instead of ending the scan; so are broken and looping symbolic links. Only an
    unreadable `root` raises: treating it as empty would remove every document.
    """
    files: list[SourceFile] = []
    skipped: list[dict[str, str]] = []
    blocked: list[str] = []
    ignored = 0

    def walk_error(exc: OSError) -> None:
        if exc.filename is None or Path(exc.filename) == root:
            raise exc
        rel = printable_path(Path(exc.filename).relative_to(root).as_posix())
        blocked.append(rel + "/")
        skipped.append({"path": rel + "/", "reason": f"cannot read folder: {_reason(exc)}"})

    for top, dirs, names in os.walk(root, onerror=walk_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if name.startswith("."):
                continue
            path = Path(top) / name
            doc_id = printable_path(path.relative_to(root).as_posix())
            try:
                st = path.stat()
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    reason = "symbolic link loop"
                elif path.is_symlink():
                    reason = "broken symbolic link (its target is missing)"
                else:
                    reason = f"cannot read file: {_reason(exc)}"
                skipped.append({"path": doc_id, "reason": reason})
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                ignored += 1
                continue
            try:
                files.append(SourceFile(doc_id, path, file_hash(path)))
            except OSError as exc:
                skipped.append({"path": doc_id, "reason": f"cannot read file: {_reason(exc)}"})
    files.sort(key=lambda f: f.doc_id)
    skipped.sort(key=lambda s: s["path"])
    return FolderScan(files, ignored, skipped, blocked)


def scan_folder(root: Path) -> tuple[list[SourceFile], int]:
    """Readable supported files under root, and how many were ignored (see `scan`)."""
    found = scan(root)
    return found.files, found.ignored
