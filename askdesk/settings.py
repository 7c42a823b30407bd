"""One settings object for every command and bot: env vars `ASKDESK_*`, then `askdesk.toml`.

Assembled from the blocks each component declares beside its code (search, answering, the
LLM backend, style, dashboard and rules, chat surfaces; source types through their
registry): `Settings` inherits every block, so each setting is declared once, in its
block, and keeps its flat name in the file, the environment and `askdesk config check`.
A layer gets its own block, `settings.block(SearchSettings)`, never the whole object.

Precedence, highest first: constructor arguments (CLI flags), environment variables, a
`.env` file, the TOML file (`./askdesk.toml`, or the path in `ASKDESK_CONFIG`), defaults.
Everything lives under one data dir by default; the LanceDB URI and the database URL can
point elsewhere (object storage, PostgreSQL) to scale out.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union

from dotenv import dotenv_values
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from askdesk.bots.chat_settings import (
    ChannelSettings,
    ChatSettings,
    DiscordSettings,
    HttpApiSettings,
    SlackSettings,
)
from askdesk.core.answer_settings import AnswerSettings
from askdesk.core.llm_settings import LLMSettings
from askdesk.dashboard.dashboard_settings import DashboardSettings, RulesSettings
from askdesk.retrieval.search_settings import SearchSettings
from askdesk.retrieval.source_registry import SourceTypeError, registered, with_type
from askdesk.retrieval.source_types import SourceSettings
from askdesk.setting_names import UnknownSetting, unknown_keys, unknown_variables
from askdesk.styling.style_settings import StyleSettings

__all__ = [
    "BLOCKS",
    "AnswerSettings",
    "ChannelSettings",
    "ChatSettings",
    "DashboardSettings",
    "DeskSettings",
    "DiscordSettings",
    "HttpApiSettings",
    "LLMSettings",
    "RulesSettings",
    "SearchSettings",
    "Settings",
    "SlackSettings",
    "SourceSettings",
    "StyleSettings",
]

Block = TypeVar("Block", bound=BaseModel)


def config_file() -> Path:
    return Path(os.environ.get("ASKDESK_CONFIG", "askdesk.toml"))


SOURCE_TYPES: dict[str, type[SourceSettings]] = registered()
"""The source types of this process (built-in and installed), read once at import."""


def _typed_source(table: Any) -> Any:
    """A `[[sources]]` table gets its `type` (implied for tables written before it)."""
    return with_type(table, SOURCE_TYPES)


AnySource = Annotated[
    Union[tuple(SOURCE_TYPES.values())],  # noqa: UP007 (built at run time from the registry)
    Field(discriminator="type"),
    BeforeValidator(_typed_source),
]
"""A `[[sources]]` table: one of the registered source types, chosen by its `type`."""


class LanceDBSettings(BaseModel):
    """The `[lancedb]` table: how to reach an index on object storage."""

    model_config = ConfigDict(extra="forbid")

    storage_options: dict[str, str] = Field(
        default_factory=dict,
        description="Passed to LanceDB for s3:// gs:// az:// URIs (e.g. aws_endpoint, "
        "aws_region, allow_http); credentials may come from the environment instead.",
    )


class DeskSettings(BaseModel):
    """The desk's own settings: where things are kept, the sources, upkeep and logging."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    data_dir: Path = Field(
        Path(".askdesk"), description="Holds the LanceDB folder and SQLite file."
    )
    docs_dir: Path | None = Field(None, description="Default docs folder for `index` and `status`.")
    lancedb_uri: str | None = Field(
        None, description="Default: DATA_DIR/lancedb; or s3://bucket/prefix (gs://, az://)."
    )
    lancedb: LanceDBSettings = Field(default_factory=LanceDBSettings)
    database_url: str | None = Field(None, description="Default: sqlite:///DATA_DIR/askdesk.db.")

    tone_scorer: str = Field(
        "logistic",
        description="What scores each answer's voice for the dashboard: `logistic` (the "
        "scorer `askdesk style train` fits) or one installed through the "
        "`askdesk.tone_scorers` entry points.",
    )

    @field_validator("tone_scorer")
    @classmethod
    def _tone_scorer_name(cls, v: str) -> str:
        """Compared as written in lower case; whether one exists is checked when the engine
        is built (installed plugins are only known then)."""
        v = v.strip().lower()
        if not v:
            raise ValueError("tone_scorer must name a tone scorer, e.g. logistic")
        return v

    sources: list[AnySource] = Field(
        default_factory=list,
        description="`[[sources]]` tables: every place the docs live; `askdesk index` syncs all.",
    )

    asker_salt: SecretStr | None = Field(
        None, description="Secret for hashing user ids; generated into the data dir if unset."
    )
    log_level: str = "INFO"

    # -- upkeep: scheduled reindex and retention ---------------------------------------------
    index_lock_lease_s: float = Field(
        60.0,
        ge=5,
        description="How long an index run's lock on an object-store index lasts unrenewed "
        "(renewed every third of it): past it the run is taken for dead and its lock taken over.",
    )
    reindex_every_minutes: float | None = Field(
        None, gt=0, description="Incremental reindex on a schedule in long-running processes."
    )
    retention_days: int | None = Field(
        None,
        ge=1,
        description="Delete interactions and votes older than this (daily and by "
        "`askdesk privacy purge`).",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, v: Path) -> Path:
        """Absolute from the start: every path derived from it (the base model cache, style
        versions, the database) then means the same folder whichever directory a later
        command, job or bot process runs in."""
        return v.expanduser().absolute()


BLOCKS: tuple[type[BaseModel], ...] = (
    DeskSettings,
    SearchSettings,
    AnswerSettings,
    LLMSettings,
    StyleSettings,
    DashboardSettings,
    RulesSettings,
    ChatSettings,
    SlackSettings,
    DiscordSettings,
    HttpApiSettings,
)
"""The components' settings blocks, in the order `askdesk config check` lists them."""


class Settings(BaseSettings, *reversed(BLOCKS)):  # type: ignore[misc]
    """Every setting, each declared once in its block: the last base's fields come first,
    hence `reversed` (data_dir leads `askdesk config check`)."""

    model_config = SettingsConfigDict(
        env_prefix="ASKDESK_",
        populate_by_name=True,
        env_file=".env",
        extra="forbid",  # a misspelt name is an error (askdesk.setting_names), never ignored
        validate_default=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = CheckedTomlSource(settings_cls, toml_file=config_file())
        check_variables(settings_cls)
        return init_settings, env_settings, dotenv_settings, toml, file_secret_settings

    def block(self, kind: type[Block]) -> Block:
        """A validated copy of one component's block (`settings.block(SearchSettings)`):
        what a layer receives instead of the whole settings object."""
        if kind not in BLOCKS:
            raise TypeError(f"{kind.__name__} is not a settings block (askdesk.settings.BLOCKS)")
        return kind.model_validate({name: getattr(self, name) for name in kind.model_fields})

    # -- derived locations -----------------------------------------------------------------
    @property
    def lancedb_location(self) -> str:
        return self.lancedb_uri or str(self.data_dir / "lancedb")

    @property
    def database_location(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'askdesk.db'}"

    @property
    def calibration_file(self) -> Path:
        """Where the knowledge base's answerability calibration is kept."""
        return self.data_dir / "answerability.json"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "askdesk.log"

    def salt(self) -> str:
        """The hashing secret: from settings, else one generated once and kept in the data dir."""
        if self.asker_salt is not None and self.asker_salt.get_secret_value():
            return self.asker_salt.get_secret_value()
        path = self.data_dir / "salt"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value)
        return value


class CheckedTomlSource(TomlConfigSettingsSource):
    """The TOML file, refused with the first unknown key it holds (named, with the closest
    known one) instead of having it silently ignored."""

    def __init__(self, settings_cls: type[BaseSettings], toml_file: Path) -> None:
        super().__init__(settings_cls, toml_file=toml_file)
        for unknown in unknown_keys(self.toml_data, settings_cls, str(toml_file)):
            raise unknown.error()
        tables = self.toml_data.get("sources")
        for table in tables if isinstance(tables, list) else []:
            try:
                with_type(table, SOURCE_TYPES)
            except SourceTypeError as exc:
                raise UnknownSetting(f"{exc.what} in {toml_file}", exc.hint) from exc


def dotenv_file(settings_cls: type[BaseSettings] = Settings) -> Path | None:
    """The `.env` file the settings read, if it exists."""
    env_file = settings_cls.model_config.get("env_file")
    path = Path(env_file) if isinstance(env_file, (str, Path)) else None
    return path if path is not None and path.is_file() else None


def dotenv_values_of(settings_cls: type[BaseSettings] = Settings) -> dict[str, str]:
    path = dotenv_file(settings_cls)
    if path is None:
        return {}

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def check_variables(settings_cls: type[BaseSettings] = Settings) -> None:
    """Refuse an `ASKDESK_*` variable (environment or `.env`) that names no setting."""
    for unknown in unknown_variables(os.environ, settings_cls):
        raise unknown.error()
    path = dotenv_file(settings_cls)
    if path is not None:
        for unknown in unknown_variables(dotenv_values_of(settings_cls), settings_cls, str(path)):
            raise unknown.error()
