"""Which tone scorer rates the answers' voice: the `tone_scorer` setting, resolved to a Tone.

Tone scorers are found in the `askdesk.tone_scorers` entry-point group (`askdesk.registry`).
The built-in `logistic` is the team-trained scorer (`askdesk.styling.tone`: an embedding + layout
features, logistic regression, Platt-calibrated), loaded from the tone folder next to the
active style model. A package adds its own the same way:

    [project.entry-points."askdesk.tone_scorers"]
    mine = "my_package.tone:build"   # build(context: ToneContext) -> askdesk.plugins.Tone | None

A scorer is optional to every answer: one that is missing, fails to load or returns None
leaves answers recorded without a tone score, logged once, never an error in chat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from askdesk.core.ports import Tone
from askdesk.registry import TONE_SCORERS, PluginError, first_line, load

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToneContext:
    """What a tone scorer's factory gets.

    folder       where the team's trained scorer lives (DATA_DIR/style/<version>/tone/ or
                 DATA_DIR/style/tone/); None when none was trained
    embed        the index's sentence embedder (texts → one row per text), loaded on first use
    embed_model  its name, to refuse a scorer trained on another model's vectors
    """

    folder: Path | None
    embed: Callable[[list[str]], np.ndarray]
    embed_model: str


def logistic(context: ToneContext) -> Tone | None:
    """The built-in: the scorer `askdesk style train` fitted, or None without one."""
    if context.folder is None:
        return None
    # lean: the tone scorer's code loads only when a trained scorer exists (issue 23;
    # tests/test_lean_imports.py)
    from askdesk.styling.tone.scorer import ToneScorer, ToneScorerError

    try:
        scorer = ToneScorer.load(context.folder)
    except ToneScorerError as exc:
        log.warning("tone scorer not loaded", extra={"error": str(exc)[:200]})
        return None
    trained_with = scorer.meta.get("embedder")
    if trained_with and trained_with != context.embed_model:
        log.warning(
            "tone scorer skipped: trained with another embedding model",
            extra={"scorer_embedder": trained_with, "embed_model": context.embed_model},
        )
        return None
    return scorer.bind(context.embed)


def build_tone(name: str, context: ToneContext) -> Tone | None:
    """The tone scorer `name` for this context, or None (logged) when it cannot score."""
    try:
        factory = load(TONE_SCORERS, name)
        tone = factory(context)
    except PluginError as exc:
        log.warning("tone scorer unavailable", extra={"error": str(exc)})
        return None
    except Exception as exc:
        log.warning(
            "tone scorer failed to start",
            extra={"tone_scorer": name, "error": first_line(exc)},
        )
        return None
    if tone is not None and not callable(getattr(tone, "score", None)):
        log.warning("tone scorer returned no scorer", extra={"tone_scorer": name})
        return None
    return tone
