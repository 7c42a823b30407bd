"""The public surface for packages that extend askdesk: import from here, nothing else.

Each extension point is an entry-point group; askdesk's own built-ins are registered in the
same groups (pyproject.toml), so a third-party package is found exactly like them.

Sources (`askdesk.sources`)
---------------------------
A source type is a `SourceSettings` subclass: its `type` field is a `Literal` naming it, its
fields are the keys of a `[[sources]]` table, and `build(state_dir)` returns a `Source`
(subclass `Source`: `list_items()` and `read()` to implement, `finish()` a no-op unless the
source remembers what it synced). `prefixes` and `one_off()` let `askdesk index ARGUMENT`
take an argument of this type (e.g. "s3://"). Register it in the package's pyproject.toml:

    [project.entry-points."askdesk.sources"]
    example = "my_package.source:ExampleSourceSettings"

then configure it with `type = "example"` in askdesk.toml. tests/plugins/ holds a package
that does exactly this (tests/test_source_plugin.py indexes it end to end).
"""

from __future__ import annotations

from retrieval.documents import LoadError
from retrieval.source_registry import ENTRY_POINT_GROUP as SOURCES_GROUP
from retrieval.source_registry import registered as source_types
from retrieval.source_types import SourceSettings, token_from
from retrieval.sources import Item, Listing, Source, content_validator, prefixed

__all__ = [
    # -- sources
    "SOURCES_GROUP",
    "Item",
    "Listing",
    "LoadError",
    "Source",
    "SourceSettings",
    "content_validator",
    "prefixed",
    "source_types",
    "token_from",
]
