"""Finding plugins: one entry-point group per extension point, built-ins registered like the rest.

Every kind of plugin (composers, chat surfaces, tone scorers, …) is an `ExtensionPoint`: an
entry-point group and the built-ins askdesk's own distribution declares in that group in
pyproject.toml (`[project.entry-points."askdesk.composers"]` …). `registered(point)` is every
name a setting may use there: the built-ins first, then the installed third-party ones.

Why the built-ins are also listed here: importlib.metadata reads the *installed* metadata,
which lags the source in an editable or PYTHONPATH checkout. `BUILTINS` below is the same
table as pyproject.toml's (tests/test_plugins.py fails when they differ), so a built-in is
found whether or not the installed metadata is current, and it can never be shadowed: an
installed entry point with a built-in's name and another target is ignored, with a warning.

Light on purpose (importlib.metadata only): the CLI lists names without loading any plugin.
The public face for plugin authors is `askdesk.plugins`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from askdesk.retrieval.source_registry import ENTRY_POINT_GROUP as SOURCE_GROUP
from askdesk.retrieval.source_settings import BUILTIN_TYPES
from askdesk.setting_names import closest

log = logging.getLogger(__name__)


class PluginError(Exception):
    """A plugin named in the settings cannot be found, loaded or built; one line for the user."""


@dataclass(frozen=True)
class ExtensionPoint:
    """One kind of plugin: its entry-point group, what a registered object is, the built-ins."""

    kind: str  # how messages name it: "composer", "chat surface", "tone scorer"
    group: str  # the entry-point group, "askdesk.<kind>s"
    setting: str  # the setting or command argument that names one
    contract: str  # what the entry point loads (documented in askdesk.plugins)
    builtins: tuple[tuple[str, str], ...]  # (name, "module:attribute"), as in pyproject.toml

    def builtin_names(self) -> list[str]:
        return [name for name, _ in self.builtins]


# The built-ins, exactly as pyproject.toml declares them (one test keeps the two equal).
COMPOSERS = ExtensionPoint(
    "composer",
    "askdesk.composers",
    "answer_backend",
    "build(settings, fallback) -> Composer",
    (("extractive", "askdesk.composers:extractive"), ("llm", "askdesk.composers:llm")),
)
SURFACES = ExtensionPoint(
    "chat surface",
    "askdesk.surfaces",
    "chat surface",
    "serve(host: SurfaceHost) -> None, returning once host.stopping() is set",
    (
        ("slack", "askdesk.cli.slack_cmd:serve_surface"),
        ("discord", "askdesk.cli.discord_cmd:serve_surface"),
        ("http", "askdesk.cli.serve_cmd:serve_surface"),
    ),
)
TONE_SCORERS = ExtensionPoint(
    "tone scorer",
    "askdesk.tone_scorers",
    "tone_scorer",
    "build(context: ToneContext) -> Tone | None",
    (("logistic", "askdesk.tones:logistic"),),
)
# Source types are loaded and validated by askdesk.retrieval.source_registry (askdesk.settings
# builds the `[[sources]]` union from it); listed here with the same built-ins so the table is
# whole.
SOURCES = ExtensionPoint(
    "source type",
    SOURCE_GROUP,
    "source type",
    "a SourceSettings subclass (build(state_dir) -> Source)",
    tuple(
        (name, f"{model.__module__}:{model.__qualname__}") for name, model in BUILTIN_TYPES.items()
    ),
)
EXTENSION_POINTS: tuple[ExtensionPoint, ...] = (COMPOSERS, SOURCES, SURFACES, TONE_SCORERS)


def registered(point: ExtensionPoint) -> dict[str, EntryPoint]:
    """Every name usable for `point`: built-ins (declared order), then installed (sorted).

    An installed entry point carrying a built-in's name is askdesk's own declaration when it
    points at the same object (skipped silently) and a shadowing attempt otherwise (ignored,
    logged): a package cannot replace a built-in behind the team's back."""
    found = {name: EntryPoint(name, value, point.group) for name, value in point.builtins}
    builtin = dict(point.builtins)
    extra: dict[str, EntryPoint] = {}
    for ep in entry_points(group=point.group):
        if ep.name in builtin:
            if ep.value != builtin[ep.name]:
                log.warning(
                    "entry point shadows a built-in; ignored",
                    extra={"group": point.group, "plugin": ep.name},
                )
            continue
        extra.setdefault(ep.name, ep)
    found.update(sorted(extra.items()))
    return found


def known(point: ExtensionPoint) -> list[str]:
    return list(registered(point))


def unknown(point: ExtensionPoint, name: str) -> str:
    """The one line for a name nothing provides, with the likeliest meant."""
    names = known(point)
    meant = closest(name, names)
    guess = f"did you mean {meant!r}? " if meant else ""
    return f"unknown {point.setting} {name!r} ({guess}known: {', '.join(names)})"


def load(point: ExtensionPoint, name: str) -> Any:
    """The object registered as `name` (not yet called). PluginError: one line, never a trace."""
    ep = registered(point).get(name)
    if ep is None:
        raise PluginError(unknown(point, name))
    try:
        return ep.load()
    except Exception as exc:
        raise PluginError(
            f"{point.setting} {name!r} ({ep.value}) could not be loaded: {first_line(exc)}"
        ) from exc


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
