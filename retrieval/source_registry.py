"""The registry of source types: the built-ins and those installed as entry points.

`askdesk.settings` builds the `sources` tagged union from `registered()`, and
`askdesk.sourcing` finds the type a one-off argument means there. Entry points of the
`askdesk.sources` group name a SourceSettings subclass (askdesk.retrieval.source_types):

    [project.entry-points."askdesk.sources"]
    mytype = "my_package.source:MySourceSettings"

The built-ins are listed the same way in askdesk's pyproject.toml, and also here, so they
exist when the installed metadata predates them (an editable install of an older tree);
tests/test_source_types.py checks that the two lists agree.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from askdesk.retrieval.source_settings import BUILTIN_TYPES
from askdesk.retrieval.source_types import SourceSettings

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "askdesk.sources"


def registered() -> dict[str, type[SourceSettings]]:
    """Every source type by name (see `_scan`); the entry points are read once a process."""
    return dict(_scan())


@cache
def _scan() -> dict[str, type[SourceSettings]]:
    """The built-ins, then the source types installed through the
    `askdesk.sources` entry points. One that fails to load, is no SourceSettings, or takes
    a name already taken is skipped with a warning, so one broken plugin never stops the
    desk."""
    found: dict[str, type[SourceSettings]] = dict(BUILTIN_TYPES)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            model = ep.load()
        except Exception as exc:
            log.warning(
                "source type could not be loaded; skipped",
                extra={"source_type": ep.name, "error": str(exc).splitlines()[0][:200]},
            )
            continue
        if found.get(ep.name) is model:
            continue  # a built-in, listed in pyproject.toml as well
        if not (isinstance(model, type) and issubclass(model, SourceSettings)):
            log.warning(
                "source type is not a SourceSettings; skipped", extra={"source_type": ep.name}
            )
            continue
        if ep.name in found or model.type_name() != ep.name:
            log.warning(
                "source type name taken or not its type literal; skipped",
                extra={"source_type": ep.name},
            )
            continue
        found[ep.name] = model
    return found


class SourceTypeError(ValueError):
    """A `[[sources]]` table whose type is unknown or unsaid; `what` and `hint` make the
    one-line error (the hint lists the known types)."""

    def __init__(self, what: str, hint: str) -> None:
        super().__init__(f"{what} ({hint})")
        self.what = what
        self.hint = hint


def with_type(table: Any, types: Mapping[str, type[SourceSettings]]) -> Any:
    """A `[[sources]]` table with its `type`: as written, else implied by its one key that
    names a type (`path`, `url`, `git`: tables from before `type`). Raises SourceTypeError
    for an unknown type or a table that says none."""
    if not isinstance(table, Mapping):
        return table
    label = f" {table['name']!r}" if isinstance(table.get("name"), str) else ""
    known = f"known types: {', '.join(sorted(types))}"
    given = table.get("type")
    if given is not None:
        if given not in types:
            raise SourceTypeError(f"unknown source type {given!r} in [[sources]]{label}", known)
        return table
    implied = sorted(n for n, m in types.items() if m.implied_by and m.implied_by in table)
    if len(implied) != 1:
        keys = ", ".join(sorted(m.implied_by for m in types.values() if m.implied_by))
        got = f"; it has {', '.join(types[n].implied_by or n for n in implied)}" if implied else ""
        raise SourceTypeError(
            f"[[sources]]{label} needs a type, or exactly one of {keys}{got}", known
        )
    return {**table, "type": implied[0]}
