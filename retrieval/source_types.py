"""Source types: what a `[[sources]]` table may say, and how it becomes a Source.

A source type is one pydantic model (a subclass of `SourceSettings`) whose `type` field is a
`Literal` naming it. The model declares the table's keys, how the type recognises a one-off
`askdesk index ARGUMENT` (`prefixes`), and builds its Source (`build`, `one_off`). Types are
registered through the `askdesk.sources` entry-point group, the built-ins too
(pyproject.toml, askdesk.retrieval.source_registry), so adding a type never means editing the
settings or the indexing code.

Kept light (pydantic and the standard library): the settings import this module on every
command. A type's Source class, and whatever it needs (an HTTP client, git), is loaded only
when a source of that type is built.
"""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from askdesk.retrieval.sources import Source

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class SourceSettings(BaseModel):
    """The keys every `[[sources]]` table has; a source type adds its own.

    A subclass sets `type: Literal["mytype"] = "mytype"` and implements `build`; it may set
    `prefixes` (lower-case starts of a one-off argument it takes, e.g. "s3://") with
    `one_off`, and `implied_by` (a key that, in a table without `type`, means this type:
    how tables written before `type` existed keep working)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="The source type (`askdesk config check` lists them).")
    name: str = Field(
        pattern=NAME_PATTERN,
        description="Unique; the doc_id prefix (`name/...`) and a channel `paths` prefix.",
    )
    every_minutes: float | None = Field(None, gt=0, description="Own sync schedule.")

    prefixes: ClassVar[tuple[str, ...]] = ()
    implied_by: ClassVar[str | None] = None

    @classmethod
    def type_name(cls) -> str:
        """The `type` literal this model declares."""
        hint = cls.model_fields["type"].annotation
        args = typing.get_args(hint)
        if typing.get_origin(hint) is not typing.Literal or len(args) != 1:
            raise TypeError(f"{cls.__name__}.type must be a Literal of one name")
        return str(args[0])

    @property
    def kind(self) -> str:
        return self.type

    @property
    def where(self) -> str:
        """Where the source is, as it may be shown (never with credentials)."""
        return self.name

    @property
    def local_folder(self) -> Path | None:
        """A folder on this machine whose changes can be counted without syncing."""
        return None

    def build(self, state_dir: Path) -> Source:
        """The Source for this table; `state_dir` (DATA_DIR/sources/<name>) is its own."""
        raise NotImplementedError(f"source type {self.type!r} does not build sources")

    @classmethod
    def takes(cls, argument: str) -> bool:
        """Whether `askdesk index ARGUMENT` means a source of this type."""
        return bool(cls.prefixes) and argument.lower().startswith(cls.prefixes)

    @classmethod
    def one_off(cls, argument: str, state_dir: Path) -> Source:
        """The unnamed source (the whole desk) for `askdesk index ARGUMENT`."""
        raise NotImplementedError(f"source type {cls.type_name()!r} takes no one-off argument")


def token_from(env_name: str | None) -> str | None:
    """An access token named by a `token_env` key (the value never enters the settings)."""
    return os.environ.get(env_name) if env_name else None
