"""Which composer writes the answers: the `answer_backend` setting, resolved to a Composer.

Built-ins: `extractive` (the quote composer, always there) and `llm` (an OpenAI-compatible
model, `core.llm_compose`). Anything else is looked up in the `askdesk.composers` entry-point
group, so a package can add a composer without touching askdesk:
    [project.entry-points."askdesk.composers"]
    mine = "my_package.composer:build"   # build(settings, fallback) -> core.ports.Composer

Every factory gets the settings and the extractive composer, to fall back to (or to delegate
the decline decision to). A name that is neither built in nor installed stops the command at
start with one line listing the names that are.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points

from askdesk.setting_names import closest
from askdesk.settings import LLMSettings, Settings
from core.compose import ExtractiveComposer
from core.ports import Composer

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "askdesk.composers"
LLM_MODULE = "core.llm_compose"

Factory = Callable[[Settings, Composer], Composer]


class ComposerError(Exception):
    """The configured answer backend cannot be built; one line for the user."""


def _extractive(settings: Settings, fallback: Composer) -> Composer:
    return fallback


def _llm(settings: Settings, fallback: Composer) -> Composer:
    try:
        module = importlib.import_module(LLM_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == LLM_MODULE:
            raise ComposerError("the llm backend is not installed") from exc
        raise ComposerError(
            f"the llm backend needs the {exc.name!r} package: pip install {exc.name}"
        ) from exc
    return module.build_llm_composer(settings.block(LLMSettings), fallback=fallback)


BUILTINS: dict[str, Factory] = {"extractive": _extractive, "llm": _llm}


def _installed() -> dict[str, EntryPoint]:
    """Third-party composers by name; a name a built-in already has is ignored (logged)."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in BUILTINS:
            log.warning(
                "composer entry point shadows a built-in; ignored", extra={"composer": ep.name}
            )
            continue
        found.setdefault(ep.name, ep)
    return found


def known_backends() -> list[str]:
    """Every name `answer_backend` accepts here: the built-ins, then installed ones (sorted)."""
    return [*BUILTINS, *sorted(_installed())]


def unknown_backend(name: str) -> str:
    """The one line for an `answer_backend` nothing provides, with the likeliest meant."""
    known = known_backends()
    meant = closest(name, known)
    guess = f"did you mean {meant!r}? " if meant else ""
    return f"unknown answer_backend {name!r} ({guess}known: {', '.join(known)})"


def build_composer(settings: Settings, extractive: ExtractiveComposer) -> Composer:
    """The composer named by `settings.answer_backend`, given the extractive one as fallback."""
    name = settings.answer_backend
    factory: Factory | None = BUILTINS.get(name)
    if factory is None:
        ep = _installed().get(name)
        if ep is None:
            raise ComposerError(unknown_backend(name))
        try:
            factory = ep.load()
        except Exception as exc:
            raise ComposerError(
                f"answer_backend {name!r} ({ep.value}) could not be loaded: {_first_line(exc)}"
            ) from exc
    try:
        composer = factory(settings, extractive)  # type: ignore[misc]
    except ComposerError:
        raise
    except Exception as exc:
        raise ComposerError(f"answer_backend {name!r} failed to start: {_first_line(exc)}") from exc
    missing = [a for a in ("name", "version", "compose") if not hasattr(composer, a)]
    if missing:
        raise ComposerError(
            f"answer_backend {name!r} returned no composer (missing: {', '.join(missing)})"
        )
    return composer


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
