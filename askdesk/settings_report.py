"""The effective settings, each with where its value came from, secrets masked.

`askdesk config check` prints this. The origin of a value follows the settings' own
precedence (askdesk.settings): a command-line flag, an environment variable, `.env`, the
TOML file, else the default. Secrets (every `SecretStr` field, passwords inside URLs,
credential-looking keys of `[lancedb.storage_options]`) are never shown, only whether they
are set.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from askdesk.logs import redact
from askdesk.setting_names import env_names
from askdesk.settings import Settings, config_file, dotenv_file, dotenv_values_of

MASK = "********"
_SECRET_KEY = re.compile(r"(?i)(secret|password|token|key|credential|salt)")


@dataclass(frozen=True)
class Effective:
    name: str
    value: Any  # JSON-ready, secrets masked
    origin: str  # "default", "command line", "environment (ASKDESK_X)", ".env", "askdesk.toml"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "origin": self.origin}


def _toml_keys() -> set[str]:
    path = config_file()
    if not path.is_file():
        return set()

    with path.open("rb") as f:
        return set(tomllib.load(f))


def origin_of(
    name: str, given: set[str], toml_keys: set[str], environ: dict[str, str], dotenv: set[str]
) -> str:
    if name in given:
        return "command line"
    for variable in env_names(Settings, name):
        if variable in environ:
            return f"environment ({variable})"
    for variable in env_names(Settings, name):
        if variable in dotenv:
            return f"{dotenv_file()} ({variable})"
    if name in toml_keys:
        return str(config_file())
    return "default"


def shown(value: Any, field_name: str = "") -> Any:
    """A value as it may be printed: secrets masked, URLs without their passwords."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else None
    if hasattr(value, "model_dump"):
        return {k: shown(getattr(value, k), k) for k in type(value).model_fields}
    if isinstance(value, dict):
        return {
            str(k): (MASK if _SECRET_KEY.search(str(k)) and v else shown(v, str(k)))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [shown(v, field_name) for v in value]
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, os.PathLike):
        return str(value)
    return value


def effective(settings: Settings, given: set[str] | None = None) -> list[Effective]:
    """Every setting of `settings`, in the order the model declares them."""
    environ = {k.upper(): v for k, v in os.environ.items()}
    dotenv = {k.upper() for k in dotenv_values_of()}
    toml_keys = _toml_keys()
    out = []
    for name in Settings.model_fields:
        origin = origin_of(name, given or set(), toml_keys, environ, dotenv)
        out.append(Effective(name, shown(getattr(settings, name), name), origin))
    return out
