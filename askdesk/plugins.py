"""askdesk's extension surface: every kind of plugin, and all a plugin needs to import.

A plugin is a package that declares an entry point in one of these groups (its pyproject.toml)
and imports nothing of askdesk but this module. askdesk's own built-ins are registered the
same way, in askdesk's pyproject.toml. ARCHITECTURE.md says where each kind plugs in.

=====================  ========================  ===================================================
group                  chosen by                 the entry point loads
=====================  ========================  ===================================================
askdesk.composers      `answer_backend`          build(settings, fallback: Composer) -> Composer
askdesk.surfaces       `askdesk chat NAME`       serve(host: SurfaceHost) -> None
askdesk.tone_scorers   `tone_scorer`             build(context: ToneContext) -> Tone | None
=====================  ========================  ===================================================

Built-ins: composers `extractive`, `llm`; surfaces `slack`, `discord`, `http`; tone scorer
`logistic`. `registered(COMPOSERS)` (…) lists what an install has; `EXTENSION_POINTS` is the table.

- A **composer** writes the answer from the retrieved passages: `compose(question, hits,
  query_vector, unmatched_terms) -> Composition`, citing passages as [n] (`cite`, `source_for`
  number them as every composer does). `fallback` is the extractive composer: return its
  composition (with a `note`) when yours cannot answer.
- A **chat surface** translates a platform's events into `Incoming` / `Click` and implements
  `ChatSurface` (post, edit, react, render an `Answer`); `host.delivery(surface)` is the one
  delivery core that decides, answers, records votes and escalates, as for Slack and Discord.
- A **tone scorer** rates each answer's voice in [0, 1] for the dashboard: `score(text)`.

Test doubles for plugins (fake Slack, Discord, OpenAI-compatible and S3 servers) are in
`askdesk.testing`.
"""

from __future__ import annotations

from askdesk.registry import (
    COMPOSERS,
    EXTENSION_POINTS,
    SURFACES,
    TONE_SCORERS,
    ExtensionPoint,
    PluginError,
    known,
    registered,
)
from askdesk.surfaces import SurfaceHost
from askdesk.tones import ToneContext
from bots.delivery import Delivery
from bots.surface import (
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
from core.citations import cite, source_for
from core.ports import Composer, Tone
from core.types import Answer, Composition, Question, Source, Turn
from feedback.reasons import Reason
from retrieval.search import SearchHit

__all__ = [
    "COMPOSERS",
    "EXTENSION_POINTS",
    "SURFACES",
    "TONE_SCORERS",
    "Answer",
    "ChatSurface",
    "Click",
    "CommentDialogue",
    "CommentOffer",
    "Composer",
    "Composition",
    "Delivery",
    "ExtensionPoint",
    "Incoming",
    "Place",
    "PluginError",
    "Prompt",
    "Question",
    "Reason",
    "ReasonChoice",
    "Responder",
    "SearchHit",
    "Source",
    "SurfaceError",
    "SurfaceHost",
    "Tone",
    "ToneContext",
    "Turn",
    "cite",
    "known",
    "registered",
    "source_for",
]
