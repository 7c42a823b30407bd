"""Settings and command-line arguments → source objects (askdesk.retrieval.sources).

Which type a `[[sources]]` table or an `askdesk index SOURCE` argument is comes from the
registered source types (askdesk.retrieval.source_registry); this module only decides where each
keeps its state in the data dir (DATA_DIR/sources/<name>/: a repository's clone, a
website's validators) and which configured entries can sync.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from askdesk.retrieval.source_registry import registered
from askdesk.retrieval.source_settings import FolderSourceSettings, state_key
from askdesk.retrieval.source_types import SourceSettings
from askdesk.retrieval.sources import Source

if TYPE_CHECKING:
    from askdesk.settings import Settings
    from askdesk.wiring import App

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """The configured sources to sync, and the entries that cannot be (with the reason)."""

    sources: list[Source] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Every name the config claims, also of entries that cannot sync this time: their
        documents are kept, not removed as "no longer configured"."""
        return [s.name for s in self.sources] + [p["source"] for p in self.problems]


def state_dir(settings: Settings, key: str) -> Path:
    return settings.data_dir / "sources" / key


def build(settings: Settings, conf: SourceSettings) -> Source:
    """One configured source, built by its type."""
    return conf.build(state_dir(settings, conf.name))


def plan(settings: Settings, only: str | None = None) -> Plan:
    """The configured sources (or just `only`); a name used twice keeps its first entry and
    reports the others, so one typo never stops the rest from syncing."""
    out = Plan()
    seen: set[str] = set()
    for conf in settings.sources:
        if only is not None and conf.name != only:
            continue
        if conf.name in seen:
            out.problems.append(
                {
                    "source": conf.name,
                    "reason": f"source name {conf.name!r} is used twice; "
                    "this entry is skipped (names must be unique)",
                }
            )
            continue
        seen.add(conf.name)
        out.sources.append(build(settings, conf))
    return out


def type_taking(spec: str) -> type[SourceSettings] | None:
    """The registered type that claims a one-off argument by its prefix (a URL scheme, …),
    None for a plain folder path."""
    for model in registered().values():
        if model is not FolderSourceSettings and model.prefixes and model.takes(spec):
            return model
    return None


def one_off(settings: Settings, spec: str) -> Source:
    """`askdesk index SPEC`: a folder, or an argument a source type claims (an http(s) URL,
    a git+ URL, a registered type's prefix), as the unnamed source (it owns the whole
    index, as a docs folder always has)."""
    model = type_taking(spec) or FolderSourceSettings
    return model.one_off(spec, state_dir(settings, state_key(spec)))


def is_remote(spec: str) -> bool:
    """Whether a one-off argument is something other than a folder path."""
    return type_taking(spec) is not None


UNKNOWN_ORIGIN = "an earlier index run"


def documents_elsewhere(app: App, source: Source) -> dict[str, int]:
    """What `askdesk index SOURCE` (one source as the whole desk) would take away that came
    from somewhere else: documents per origin (another folder, site or repository indexed
    this way before, or a configured source's `name/…` documents). The source's own earlier
    documents are not counted: replacing them is an ordinary sync."""
    docs = app.index.doc_chunk_counts() if app.index.exists() else {}
    if not docs:
        return {}
    runs = app.store.index_runs.recent(limit=500)
    named = {s.name for s in app.settings.sources} | {r["source"] for r in runs if r.get("source")}
    unnamed = next(
        (
            str(r["docs_root"])
            for r in runs
            if not r.get("source") and r.get("status") == "ok" and r.get("docs_root")
        ),
        UNKNOWN_ORIGIN,
    )
    # a folder's own files count as its own even when this database never recorded indexing
    # it (another process with its own database wrote the shared index)
    root = getattr(source, "root", None)
    out: dict[str, int] = {}
    for doc_id in docs:
        head, slash, _ = doc_id.partition("/")
        origin = f"source {head!r}" if slash and head in named else unnamed
        if origin == UNKNOWN_ORIGIN and root is not None and (root / doc_id).is_file():
            continue
        if origin != source.location:
            out[origin] = out.get(origin, 0) + 1
    return out


def describe(elsewhere: dict[str, int]) -> str:
    """Say "9 documents from /docs", or "12 documents: 9 from /docs, 3 from source 'site'"."""
    total = sum(elsewhere.values())
    noun = f"{total} document{'s' if total != 1 else ''}"
    if len(elsewhere) == 1:
        return f"{noun} from {next(iter(elsewhere))}"
    parts = ", ".join(
        f"{n} from {origin}" for origin, n in sorted(elsewhere.items(), key=lambda kv: -kv[1])
    )
    return f"{noun}: {parts}"
