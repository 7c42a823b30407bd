"""Which composer writes the answers: the `answer_backend` setting, resolved to a Composer.

Composers are found in the `askdesk.composers` entry-point group (`askdesk.registry`), the
built-ins too: askdesk's own pyproject.toml declares

    [project.entry-points."askdesk.composers"]
    extractive = "askdesk.composers:extractive"   # the quote composer, always there
    llm = "askdesk.composers:llm"                 # an OpenAI-compatible model
    (askdesk.core.llm_compose)

and a package adds one the same way, without touching askdesk:

    [project.entry-points."askdesk.composers"]
    mine = "my_package.composer:build"   # build(settings, fallback) -> askdesk.plugins.Composer

Every factory gets the settings and the extractive composer, to fall back to (or to delegate
the decline decision to). A name that is neither built in nor installed stops the command at
start with one line listing the names that are (ARCHITECTURE.md, "Adding a composer").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.ports import Composer
from askdesk.registry import COMPOSERS, PluginError, first_line, known, load, unknown
from askdesk.settings import LLMSettings, Settings

ENTRY_POINT_GROUP = COMPOSERS.group
LLM_MODULE = "askdesk.core.llm_compose"

Factory = Callable[[Settings, Composer], Composer]


class ComposerError(PluginError):
    """The configured answer backend cannot be built; one line for the user."""


def extractive(settings: Settings, fallback: Composer) -> Composer:
    """The built-in `extractive`: the quote composer askdesk always builds."""
    return fallback


def llm(settings: Settings, fallback: Composer) -> Composer:
    """The built-in `llm`: an OpenAI-compatible model, every sentence checked."""
    try:
        # optional: askdesk.core.llm_compose needs the `openai` client (a dependency, but a lean
        # install may drop it): imported when this backend is chosen, never before
        module = importlib.import_module(LLM_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == LLM_MODULE:
            raise ComposerError("the llm backend is not installed") from exc
        raise ComposerError(
            f"the llm backend needs the {exc.name!r} package: pip install {exc.name}"
        ) from exc
    return module.build_llm_composer(settings.block(LLMSettings), fallback=fallback)


BUILTINS: tuple[str, ...] = tuple(COMPOSERS.builtin_names())


def known_backends() -> list[str]:
    """Every name `answer_backend` accepts here: the built-ins, then installed ones (sorted)."""
    return known(COMPOSERS)


def unknown_backend(name: str) -> str:
    """The one line for an `answer_backend` nothing provides, with the likeliest meant."""
    return unknown(COMPOSERS, name)


def build_composer(settings: Settings, extractive: ExtractiveComposer) -> Composer:
    """The composer named by `settings.answer_backend`, given the extractive one as fallback."""
    name = settings.answer_backend
    try:
        factory: Factory = load(COMPOSERS, name)  # built-ins too: one path for every composer
    except PluginError as exc:
        raise ComposerError(str(exc)) from exc.__cause__
    try:
        composer = factory(settings, extractive)
    except ComposerError:
        raise
    except Exception as exc:
        raise ComposerError(f"answer_backend {name!r} failed to start: {first_line(exc)}") from exc
    missing = [a for a in ("name", "version", "compose") if not hasattr(composer, a)]
    if missing:
        raise ComposerError(
            f"answer_backend {name!r} returned no composer (missing: {', '.join(missing)})"
        )
    return composer
