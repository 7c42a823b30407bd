"""Which setting names exist, and a clear error for every one that does not.

A typo in `askdesk.toml` (`min_confidance`), in an `ASKDESK_*` variable or in a
`[[sources]]` table used to be ignored without a word. The names known here are read from
the settings models themselves (their fields and aliases, recursively through nested
tables), so a setting added to a model is known at once: there is no second list to keep.

Not every `ASKDESK_*` variable is a setting. The rule (README, *Configuration*):
- `ASKDESK_CONFIG` names the config file;
- `ASKDESK_TEST_*` and `ASKDESK_BENCH_*` belong to the test suite and the benches (e.g.
  `ASKDESK_TEST_PG_URL`), and `ASKDESK_EVAL_DIR` to the quality benches: never read as
  settings, never an error.
Anything else starting with `ASKDESK_` must name a setting.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import AliasChoices, AliasPath, BaseModel, BeforeValidator
from pydantic.fields import FieldInfo

ENV_PREFIX = "ASKDESK_"

NOT_SETTINGS: dict[str, str] = {
    "ASKDESK_CONFIG": "the config file to read instead of ./askdesk.toml",
    "ASKDESK_EVAL_DIR": "the FAQ sets the quality benches read",
}
"""`ASKDESK_*` variables that are not settings, and what each is for."""

RESERVED_PREFIXES: tuple[str, ...] = ("ASKDESK_TEST_", "ASKDESK_BENCH_")
"""Variables for the test suite and the benches (ASKDESK_TEST_PG_URL, …)."""


class UnknownSetting(ValueError):
    """A setting name no model knows; `what` and `hint` make the one-line error."""

    def __init__(self, what: str, hint: str) -> None:
        super().__init__(f"{what} ({hint})")
        self.what = what
        self.hint = hint


@dataclass(frozen=True)
class Unknown:
    key: str  # as written, e.g. "pth"
    where: str  # e.g. "askdesk.toml", "[[sources]] 'handbook' in askdesk.toml"
    suggestion: str | None
    takes: str = ""  # e.g. "type = 'folder' takes: name, path, …" (a tagged table's keys)

    def error(self) -> UnknownSetting:
        hint = (
            f"did you mean {self.suggestion!r}?"
            if self.suggestion
            else self.takes or "`askdesk config check` lists every setting"
        )
        return UnknownSetting(f"unknown setting {self.key!r} in {self.where}", hint)


def closest(name: str, known: typing.Iterable[str]) -> str | None:
    """The known name a typo most likely meant, if any is close enough."""
    names = list(known)
    by_lower = {n.lower(): n for n in names}
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None


def _aliases(info: Any) -> list[str]:
    alias = info.validation_alias
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices):
        return [c for c in alias.choices if isinstance(c, str)]
    if isinstance(alias, AliasPath):
        return []
    return [info.alias] if info.alias else []


def keys_of(model: type[BaseModel]) -> set[str]:
    """The keys a table for `model` may hold: field names and their aliases."""
    out: set[str] = set()
    for name, info in model.model_fields.items():
        out.add(name)
        out.update(_aliases(info))
    return out


@dataclass(frozen=True)
class Tagged:
    """A tagged union of settings models: its discriminator key, each member by its tag,
    and the union's before-validators (they may fill in the tag: `[[sources]]` tables
    written before `type` existed)."""

    key: str
    by_tag: dict[str, type[BaseModel]]
    before: tuple[Callable[[Any], Any], ...] = ()

    def tag_of(self, item: Mapping[str, Any]) -> Any:
        """The item's tag as written, else as the before-validators imply it (None when
        they cannot: the settings then report that, in their own words)."""
        if item.get(self.key) is not None:
            return item.get(self.key)
        for fill in self.before:
            try:
                item = fill(item)
            except ValueError:
                return None
        return item.get(self.key) if isinstance(item, Mapping) else None


def _members(annotation: Any) -> Tagged | None:
    """A tagged union of settings models (`Annotated[A | B, Field(discriminator="type")]`);
    None for anything else."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    inner, *extras = typing.get_args(annotation)
    key = next(
        (getattr(x, "discriminator", None) for x in extras if isinstance(x, FieldInfo)), None
    )
    if not isinstance(key, str) or typing.get_origin(inner) not in (typing.Union, types.UnionType):
        return None
    out: dict[str, type[BaseModel]] = {}
    for member in typing.get_args(inner):
        if (
            isinstance(member, type)
            and issubclass(member, BaseModel)
            and key in member.model_fields
        ):
            for tag in typing.get_args(member.model_fields[key].annotation):
                out[str(tag)] = member
    before = tuple(x.func for x in extras if isinstance(x, BeforeValidator))
    return Tagged(key, out, before)


def _nested(annotation: Any) -> tuple[str, Any] | None:
    """How a field holds a nested settings model: ("table", M), ("array", M) for
    list[M], ("tables", M) for dict[str, M], ("tagged", Tagged) for a list of a tagged
    union (`[[sources]]`); None for plain values."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    tagged = _members(args[0]) if origin is list and args else None
    if tagged is not None:
        return ("tagged", tagged)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _nested(arg)
            if found:
                return found
        return None
    if origin is typing.Annotated:
        return _nested(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("table", annotation)
    args = typing.get_args(annotation)
    item = args[0] if origin in (list, tuple) and args else None
    if isinstance(item, type) and issubclass(item, BaseModel):
        return ("array", item)
    value = args[1] if origin is dict and len(args) == 2 else None
    if isinstance(value, type) and issubclass(value, BaseModel):
        return ("tables", value)
    return None


def unknown_keys(data: Mapping[str, Any], model: type[BaseModel], where: str) -> Iterator[Unknown]:
    """Every key of `data` (a parsed TOML table) that `model` does not know, recursively
    through nested tables, arrays of tables (`[[sources]]`) and keyed tables
    (`[channels."C123"]`); free-form tables (`[lancedb.storage_options]`) are left alone."""
    known = keys_of(model)
    for key, value in data.items():
        if key not in known:
            yield Unknown(key, where, closest(key, known))
            continue
        name = key if key in model.model_fields else _field_of_alias(model, key)
        nested = _nested(model.model_fields[name].annotation) if name else None
        if nested is None:
            continue
        kind, sub = nested
        if kind == "table" and isinstance(value, Mapping):
            yield from unknown_keys(value, sub, f"[{key}] in {where}")
        elif kind == "array" and isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    label = repr(item["name"]) if isinstance(item.get("name"), str) else f"#{i + 1}"
                    yield from unknown_keys(item, sub, f"[[{key}]] {label} in {where}")
        elif kind == "tagged" and isinstance(value, list):
            for i, item in enumerate(value):
                if not isinstance(item, Mapping):
                    continue
                label = repr(item["name"]) if isinstance(item.get("name"), str) else f"#{i + 1}"
                tag = sub.tag_of(item)
                if tag is not None and tag not in sub.by_tag:
                    continue  # an unknown type: the settings say so, listing the known ones
                # no tag to be had: any member's key may be meant (the settings say the rest)
                by_tag = sub.by_tag
                member_keys = keys_of(by_tag[tag]) if tag is not None else _keys_of_all(by_tag)
                takes = f"{sub.key} = {tag!r} takes: {', '.join(sorted(member_keys))}"
                for unknown in _unknown_in(item, member_keys, f"[[{key}]] {label} in {where}"):
                    yield replace(unknown, takes=takes if tag is not None else "")
        elif kind == "tables" and isinstance(value, Mapping):
            for sub_key, item in value.items():
                if isinstance(item, Mapping):
                    yield from unknown_keys(item, sub, f'[{key}."{sub_key}"] in {where}')


def _keys_of_all(models: Mapping[str, type[BaseModel]]) -> set[str]:
    return set().union(*(keys_of(m) for m in models.values())) if models else set()


def _unknown_in(data: Mapping[str, Any], known: set[str], where: str) -> Iterator[Unknown]:
    """The keys of a flat table that are not `known` (a tagged-union member's table)."""
    for key in data:
        if key not in known:
            yield Unknown(key, where, closest(key, known))


def _field_of_alias(model: type[BaseModel], alias: str) -> str | None:
    for name, info in model.model_fields.items():
        if alias in _aliases(info):
            return name
    return None


def env_names(model: type[BaseModel], name: str) -> list[str]:
    """The environment variables that set field `name` (upper case)."""
    aliases = _aliases(model.model_fields[name])
    if aliases:
        return [a.upper() for a in aliases]
    return [f"{ENV_PREFIX}{name.upper()}"]


def known_variables(model: type[BaseModel]) -> set[str]:
    return {v for name in model.model_fields for v in env_names(model, name)}


def is_reserved(variable: str) -> bool:
    upper = variable.upper()
    return upper in NOT_SETTINGS or upper.startswith(RESERVED_PREFIXES)


def unknown_variables(
    environ: Mapping[str, str], model: type[BaseModel], where: str = "the environment"
) -> Iterator[Unknown]:
    """`ASKDESK_*` variables that name no setting (and are not reserved, see above)."""
    known = known_variables(model)
    for variable in sorted(environ):
        upper = variable.upper()
        if not upper.startswith(ENV_PREFIX) or upper in known or is_reserved(upper):
            continue
        candidates = {k for k in known if k.startswith(ENV_PREFIX)}
        yield Unknown(variable, where, closest(upper, candidates))
