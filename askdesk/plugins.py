"""askdesk's extension surface: every kind of plugin, and all a plugin needs to import.

A plugin is a package that declares an entry point in one of these groups (its pyproject.toml)
and imports nothing of askdesk but this module. askdesk's own built-ins are registered the
same way, in askdesk's pyproject.toml. ARCHITECTURE.md says where each kind plugs in.

=====================  ========================  ===================================================
group                  chosen by                 the entry point loads
=====================  ========================  ===================================================
askdesk.composers      `answer_backend`          build(settings, fallback: Composer) -> Composer
askdesk.sources        `[[sources]] type`        a SourceSettings subclass (its `build` -> Source)
askdesk.surfaces       `askdesk chat NAME`       serve(host: SurfaceHost) -> None
askdesk.tone_scorers   `tone_scorer`             build(context: ToneContext) -> Tone | None
=====================  ========================  ===================================================

Built-ins: composers `extractive`, `llm`; source types `folder`, `web`, `git`; surfaces
`slack`, `discord`, `http`; tone scorer `logistic`. `registered(COMPOSERS)` (…) lists what
an install has; `EXTENSION_POINTS` is the table.

- A **composer** writes the answer from the retrieved passages: `compose(question, hits,
  query_vector, unmatched_terms) -> Composition`, citing passages as [n] (`cite`, `source_for`
  number them as every composer does). `fallback` is the extractive composer: return its
  composition (with a `note`) when yours cannot answer.
- A **chat surface** translates a platform's events into `Incoming` / `Click` and implements
  `ChatSurface` (post, edit, react, render an `Answer`); `host.delivery(surface)` is the one
  delivery core that decides, answers, records votes and escalates, as for Slack and Discord.
- A **source type** is a `SourceSettings` subclass: its `type` field is a `Literal` naming it, its
  fields are the keys of a `[[sources]]` table, and `build(state_dir)` returns a `Source`
  (subclass `Source`: `list_items()` and `read()` to implement, `finish()` a no-op unless the
  source remembers what it synced). `prefixes` and `one_off()` let `askdesk index ARGUMENT`
  take an argument of this type (e.g. "s3://"). Register it in the package's pyproject.toml:

      [project.entry-points."askdesk.sources"]
      example = "my_package.source:ExampleSourceSettings"

  then configure it with `type = "example"` in askdesk.toml. tests/plugins/ holds a package
  that does exactly this (tests/test_source_plugin.py indexes it end to end).
- A **tone scorer** rates each answer's voice in [0, 1] for the dashboard: `score(text)`.

Test doubles for plugins (fake Slack, Discord, OpenAI-compatible and S3 servers) are in
`askdesk.testing`.
"""

from __future__ import annotations

from askdesk.bots.delivery import Delivery
from askdesk.bots.surface import (
    ChatSurface,
    Click,
    CommentDialogue,
    CommentOffer,
    Incoming,
    Place,
    Prompt,
    ReasonChoice,
    Responder,
    SurfaceError,
)
from askdesk.core.citations import cite, source_for
from askdesk.core.ports import Composer, Tone
from askdesk.core.types import Answer, Composition, Question, Turn
from askdesk.core.types import Source as CitedSource
from askdesk.feedback.reasons import Reason
from askdesk.registry import (
    COMPOSERS,
    EXTENSION_POINTS,
    SOURCES,
    SURFACES,
    TONE_SCORERS,
    ExtensionPoint,
    PluginError,
    known,
    registered,
)
from askdesk.retrieval.documents import LoadError
from askdesk.retrieval.search import SearchHit
from askdesk.retrieval.source_registry import ENTRY_POINT_GROUP as SOURCES_GROUP
from askdesk.retrieval.source_registry import registered as source_types
from askdesk.retrieval.source_types import SourceSettings, token_from
from askdesk.retrieval.sources import Item, Listing, Source, content_validator, prefixed
from askdesk.surfaces import SurfaceHost
from askdesk.tones import ToneContext

__all__ = [
    "COMPOSERS",
    "EXTENSION_POINTS",
    "SOURCES",
    "SOURCES_GROUP",
    "SURFACES",
    "TONE_SCORERS",
    "Answer",
    "ChatSurface",
    "CitedSource",
    "Click",
    "CommentDialogue",
    "CommentOffer",
    "Composer",
    "Composition",
    "Delivery",
    "ExtensionPoint",
    "Incoming",
    "Item",
    "Listing",
    "LoadError",
    "Place",
    "PluginError",
    "Prompt",
    "Question",
    "Reason",
    "ReasonChoice",
    "Responder",
    "SearchHit",
    "Source",
    "SourceSettings",
    "SurfaceError",
    "SurfaceHost",
    "Tone",
    "ToneContext",
    "Turn",
    "cite",
    "content_validator",
    "known",
    "prefixed",
    "registered",
    "source_for",
    "source_types",
    "token_from",
]
