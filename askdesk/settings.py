"""One settings object for every command and bot: env vars `ASKDESK_*`, then `askdesk.toml`.

Precedence, highest first: constructor arguments (CLI flags), environment variables, a
`.env` file, the TOML file (`./askdesk.toml`, or the path in `ASKDESK_CONFIG`), defaults.
Everything lives under one data dir by default; the LanceDB URI and the database URL can
point elsewhere (object storage, PostgreSQL) to scale out.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from askdesk.setting_names import unknown_keys, unknown_variables
from bots.slack.guard import MAX_REQUEST_BYTES
from core.citations import URL_PLACEHOLDER
from core.types import MAX_STORED_QUESTION_CHARS
from dashboard.decision import Thresholds
from dashboard.hosts import split_host
from retrieval.crawl_limits import CrawlLimits
from retrieval.fusion import FusionConfig


def config_file() -> Path:
    return Path(os.environ.get("ASKDESK_CONFIG", "askdesk.toml"))


class ChannelSettings(BaseModel):
    """A `[channels.<id>]` table: how the bot behaves in one Slack or Discord channel."""

    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(default_factory=list, description="Only search these path prefixes.")
    respond_to: Literal["mentions", "all"] = "mentions"
    escalate_to: list[str] | None = Field(None, description="Overrides the global escalate_to.")
    follow_ups: Literal["thread", "mention"] | None = Field(
        None,
        description="Overrides the global follow_ups: `thread` answers replies in a thread "
        "askdesk answered without a mention; `mention` needs the mention every time.",
    )


_CRAWL = CrawlLimits()  # the crawler's defaults live there


class SourceSettings(BaseModel):
    """A `[[sources]]` table: one place the desk's docs live (a folder, a site, a repo)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Unique; the doc_id prefix (`name/...`) and a channel `paths` prefix.",
    )
    path: Path | None = Field(None, description="A docs folder.")
    url: str | None = Field(None, description="A website: crawled within this URL's prefix.")
    git: str | None = Field(None, description="A git repository URL (https, ssh or file).")
    branch: str | None = Field(None, description="git: the branch (default: the remote's).")
    subdir: str | None = Field(None, description="git: only this folder of the repository.")
    token_env: str | None = Field(
        None, description="git/web: the environment variable holding an access token."
    )
    web_url: str | None = Field(
        None,
        description="Link for answers, with {path} (and {commit} for git), e.g. "
        "https://github.com/org/repo/blob/{commit}/{path}.",
    )
    every_minutes: float | None = Field(None, gt=0, description="Own sync schedule.")
    max_pages: int = Field(2000, ge=1, description="web: pages fetched per sync at most.")
    max_mb: float = Field(200.0, gt=0, description="web: megabytes downloaded per sync at most.")
    delay_s: float = Field(0.0, ge=0, description="web: pause between requests per worker.")
    concurrency: int = Field(4, ge=1, le=16, description="web: requests in flight at most.")
    page_deadline_s: float = Field(
        _CRAWL.page_deadline_s,
        gt=0,
        description="web: wall-clock seconds one page may take (a slow page is kept as it was).",
    )
    sync_deadline_s: float = Field(
        _CRAWL.sync_deadline_s,
        gt=0,
        description="web: wall-clock seconds one crawl may take; pages not reached are kept.",
    )

    @field_validator("url")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        if v is not None and not v.lower().startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return v

    def model_post_init(self, _context: Any) -> None:
        given = [k for k in ("path", "url", "git") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"source {self.name!r} needs exactly one of path, url or git"
                + (f" (got {', '.join(given)})" if given else "")
            )

    @property
    def kind(self) -> str:
        return "folder" if self.path is not None else "web" if self.url is not None else "git"


class LanceDBSettings(BaseModel):
    """The `[lancedb]` table: how to reach an index on object storage."""

    model_config = ConfigDict(extra="forbid")

    storage_options: dict[str, str] = Field(
        default_factory=dict,
        description="Passed to LanceDB for s3:// gs:// az:// URIs (e.g. aws_endpoint, "
        "aws_region, allow_http); credentials may come from the environment instead.",
    )


def _env(*names: str) -> AliasChoices:
    """Accept the platform's conventional variable (SLACK_BOT_TOKEN) and the ASKDESK_ one."""
    return AliasChoices(*names, *(f"ASKDESK_{n}" for n in names))


_RULES = Thresholds()
_FUSION = FusionConfig()  # the search defaults live there, measured in BENCHMARKS.md


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASKDESK_",
        populate_by_name=True,
        env_file=".env",
        extra="forbid",  # a misspelt name is an error (askdesk.setting_names), never ignored
        validate_default=True,
    )

    data_dir: Path = Field(
        Path(".askdesk"), description="Holds the LanceDB folder and SQLite file."
    )
    docs_dir: Path | None = Field(None, description="Default docs folder for `index` and `status`.")
    lancedb_uri: str | None = Field(
        None, description="Default: DATA_DIR/lancedb; or s3://bucket/prefix (gs://, az://)."
    )
    lancedb: LanceDBSettings = Field(default_factory=LanceDBSettings)
    database_url: str | None = Field(None, description="Default: sqlite:///DATA_DIR/askdesk.db.")

    embed_model: str = "all-MiniLM-L6-v2"
    embed_threads: int = Field(default_factory=lambda: max(1, min(os.cpu_count() or 1, 4)))
    embed_batch_size: int = 32
    embed_backend: Literal["auto", "onnx", "torch"] = Field(
        "auto",
        description="auto: onnxruntime on an ONNX export cached in DATA_DIR/models/embed-onnx, "
        "else sentence-transformers (needs askdesk[torch]); onnx or torch: only that one.",
    )
    reranker_model: str | None = None

    search_mode: Literal["hybrid", "vector", "fts"] = _FUSION.mode
    fusion_method: Literal["score", "rrf"] = Field(
        _FUSION.method, description="Hybrid fusion: `score` (cosine + weighted BM25) or `rrf`."
    )
    vector_weight: float = _FUSION.vector_weight
    text_weight: float = _FUSION.text_weight
    rrf_k: int = _FUSION.rrf_k
    search_candidates: int = _FUSION.candidates
    doc_weight: float = _FUSION.doc_weight
    passage_weight: float = Field(
        _FUSION.passage_weight,
        ge=0.0,
        description="Hybrid score fusion: weight of a chunk's best stored passage's cosine "
        "(0 ranks by whole chunks only).",
    )

    top_k: int = Field(5, ge=1, le=50)
    min_confidence: float = Field(0.15, ge=0.0, le=1.0)
    max_question_chars: int = 4000
    max_stored_question_chars: int = Field(
        MAX_STORED_QUESTION_CHARS,
        ge=100,
        description="A longer question is cut to this many characters (the reply says so).",
    )
    answer_max_words: int = 110
    answer_calibration: bool = Field(
        False,
        description="After each index run, calibrate when to decline on this knowledge base "
        "(probes with a page held out; stored in DATA_DIR/answerability.json). Off by default: "
        "on the sample KB it made the decision more lenient (BENCHMARKS.md).",
    )
    answer_hedge_shift: float | None = Field(
        None,
        ge=-10.0,
        le=0.0,
        description="The hedged zone: an answer the decision would decline at a bias this many "
        'logits stricter starts with "I\'m not sure the docs cover this". None: the built-in '
        "value (core/answerability.py HEDGE_BIAS_SHIFT); 0: never hedge.",
    )
    docs_url_template: str | None = Field(
        None, description="e.g. https://docs.example.com/{path} — makes sources links."
    )
    # -- who writes answers; `llm` also reads the llm_* block below (README "Bring your own LLM")
    answer_backend: str = Field(
        "extractive",
        description="Who writes answers: `extractive` (quotes the docs), `llm` (an "
        "OpenAI-compatible model, checked against the passages), or a composer installed "
        "through the `askdesk.composers` entry points.",
    )
    tone_scorer: str = Field(
        "logistic",
        description="What scores each answer's voice for the dashboard: `logistic` (the "
        "scorer `askdesk style train` fits) or one installed through the "
        "`askdesk.tone_scorers` entry points.",
    )
    sources: list[SourceSettings] = Field(
        default_factory=list,
        description="`[[sources]]` tables: every place the docs live; `askdesk index` syncs all.",
    )

    asker_salt: SecretStr | None = Field(
        None, description="Secret for hashing user ids; generated into the data dir if unset."
    )
    log_level: str = "INFO"

    # -- answer backend: bring your own LLM (README "Bring your own LLM") ---------------------
    llm_base_url: str = Field(
        "http://127.0.0.1:11434/v1",
        description="OpenAI-compatible API root, e.g. Ollama's http://127.0.0.1:11434/v1.",
    )
    llm_model: str = Field("llama3.2", description="Model name as the server knows it.")
    llm_api_key: SecretStr | None = Field(
        None, description="Bearer key (ASKDESK_LLM_API_KEY); never logged or shown."
    )
    llm_timeout_s: float = Field(
        12.0,
        gt=0,
        description="The answer deadline: connecting, the first token, the whole reply however "
        "slowly it arrives, and retries; past it the extractive answer is sent.",
    )
    llm_first_token_s: float = Field(
        5.0,
        gt=0,
        description="Connecting, and (streaming) the reply's first token, must take less; "
        "else the extractive answer is sent.",
    )
    llm_max_reply_bytes: int = Field(
        262_144, ge=4096, description="A larger reply is cut off and the extractive answer sent."
    )
    llm_max_tokens: int = Field(400, ge=16, description="Longest reply asked of the model.")
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0)
    llm_stream: bool = Field(
        True,
        description="Ask the server to stream its reply (SSE): needed for the first-token "
        "budget (a whole reply has no first token to wait for).",
    )

    # -- style model -------------------------------------------------------------------------
    style_enabled: bool = Field(
        False, description="Rewrite answers in the brand voice by default (`ask --style`)."
    )
    style_model: str | None = Field(
        None,
        description="Style model version under DATA_DIR/style, or a folder; overrides the "
        "version chosen with `askdesk style use`.",
    )
    style_base_model: str = Field(
        "smollm2-135m-instruct",
        description="Model to fine-tune: the packaged SmolLM2-135M-Instruct, or a folder/name.",
    )
    style_time_budget_s: float = Field(
        20.0,
        gt=0,
        description="A rewrite (with its retries) slower than this falls back to the draft.",
    )
    style_threads: int | None = Field(None, description="torch threads for the style model.")
    style_delivery: Literal["edit", "wait"] = Field(
        "edit",
        description="Chat with style on: `edit` posts the grounded answer at once and edits "
        "the styled one into the same message; `wait` posts only the final text.",
    )

    # -- dashboard -----------------------------------------------------------------------------
    dashboard_host: str = Field(
        "127.0.0.1", description="Any other address requires dashboard_password."
    )
    dashboard_port: int = Field(8050, ge=0, le=65535)
    dashboard_user: str = "admin"
    dashboard_password: SecretStr | None = Field(
        None, description="HTTP basic auth password; required to bind beyond loopback."
    )
    dashboard_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names (`name` or `name:port`, `*` for any) the dashboard answers "
        "besides its bound address; comma-separated in the environment.",
    )

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

    # -- the reindex / retrain rules (README "Dashboard"); defaults live with the rules ----
    rules_window_days: int = Field(
        _RULES.rules_window_days, ge=1, description="Recent answers the rules look at."
    )
    rules_min_answers: int = Field(
        _RULES.rules_min_answers,
        ge=1,
        description="Fewer answers in the window: the rules say 'not enough data'.",
    )
    facts_downvote_max: float = Field(
        _RULES.facts_downvote_max,
        ge=0,
        le=1,
        description="Share of answers 👎 'wrong facts' or 'not in docs'.",
    )
    unanswered_max: float = Field(
        _RULES.unanswered_max, ge=0, le=1, description="Share of questions unanswered."
    )
    unanswered_rise_max: float = Field(
        _RULES.unanswered_rise_max,
        ge=0,
        le=1,
        description="Rise of the unanswered share over the previous window.",
    )
    eval_drop_max: float = Field(
        _RULES.eval_drop_max,
        ge=0,
        le=1,
        description="Drop of eval hit rate or answer F1 against the last run.",
    )
    tone_target: float = Field(
        _RULES.tone_target, ge=0, le=1, description="Mean tone score of recent answers."
    )
    tone_downvote_max: float = Field(
        _RULES.tone_downvote_max, ge=0, le=1, description="Share of answers 👎 'tone/format'."
    )
    retrain_min_examples: int = Field(
        _RULES.retrain_min_examples,
        ge=1,
        description="New approved examples since the last training run.",
    )

    # -- chat --------------------------------------------------------------------------------
    channels: dict[str, ChannelSettings] = Field(default_factory=dict)
    escalate_to: list[str] = Field(
        default_factory=list, description="Slack user/group or Discord user/role ids to tag."
    )
    follow_ups: Literal["thread", "mention"] = Field(
        "thread",
        description="In a thread askdesk answered, `thread`: a reply without a mention is a "
        "follow-up (unless it names someone else or only says thanks); `mention`: only "
        "messages that mention askdesk are answered. Per channel: [channels.<id>].",
    )
    dm_window_minutes: float = Field(
        30.0,
        ge=0,
        description="A direct message within this many minutes of the last answer continues "
        "that conversation (0: every DM starts a new one).",
    )
    thread_answer_limit: int = Field(
        8, ge=1, description="Answers per thread within thread_limit_minutes; then one notice."
    )
    thread_limit_minutes: float = Field(5.0, gt=0, description="The window of that limit.")
    slack_bot_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_app_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_SIGNING_SECRET")
    )
    slack_api_url: str | None = Field(
        None, validation_alias=_env("SLACK_API_URL"), description="Web API base URL override."
    )
    slack_max_request_bytes: int = Field(
        MAX_REQUEST_BYTES,
        ge=1024,
        description="HTTP mode: a larger request is refused with 413 before it is read.",
    )
    discord_bot_token: SecretStr | None = Field(None, validation_alias=_env("DISCORD_BOT_TOKEN"))

    # -- the HTTP API (`askdesk serve`) ------------------------------------------------------
    http_api_keys: SecretStr | None = Field(
        None,
        description="Comma-separated `name=secret` or `name=sha256:<hex>` entries "
        "(`askdesk serve --hash-key SECRET` prints the digest). Each key owns its conversations.",
    )
    http_cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) whose pages may call the API, e.g. the "
        "docs site embedding the chat widget; comma-separated in the environment.",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    http_max_body_bytes: int = Field(
        16 * 1024, ge=1024, description="A larger request body is refused with 413."
    )
    http_asks_per_minute: float = Field(
        30.0, ge=0, description="Questions per API key per minute (0: no limit); then 429."
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, v: Path) -> Path:
        """Absolute from the start: every path derived from it (the base model cache, style
        versions, the database) then means the same folder whichever directory a later
        command, job or bot process runs in."""
        return v.expanduser().absolute()

    @field_validator("docs_url_template")
    @classmethod
    def _has_path(cls, v: str | None) -> str | None:
        if v and URL_PLACEHOLDER not in v:
            raise ValueError(f"docs_url_template must contain {URL_PLACEHOLDER}")
        return v

    @field_validator("answer_backend", "tone_scorer")
    @classmethod
    def _plugin_name(cls, v: str, info: Any) -> str:
        """Names are compared as written in lower case; whether one exists is checked when
        the engine is built (installed plugins are only known then)."""
        v = v.strip().lower()
        if not v:
            composer = info.field_name == "answer_backend"
            kind, example = ("composer", "extractive") if composer else ("tone scorer", "logistic")
            raise ValueError(f"{info.field_name} must name a {kind}, e.g. {example}")
        return v

    @field_validator("http_cors_origins", mode="before")
    @classmethod
    def _origin_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [part.strip() for part in v.split(",") if part.strip()]
        if isinstance(v, list):
            for entry in v:
                if not isinstance(entry, str) or not re.fullmatch(
                    r"https?://[A-Za-z0-9.-]+(:\d{1,5})?|https?://\[[0-9a-fA-F:]+\](:\d{1,5})?",
                    entry,
                ):
                    raise ValueError(f"not an origin (scheme://host[:port]): {entry!r}")
        return v

    @field_validator("dashboard_allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [part for part in v.split(",") if part.strip()]
        if isinstance(v, list):
            for entry in v:
                if not isinstance(entry, str):
                    continue
                if entry.strip() != "*" and split_host(entry) is None:
                    raise ValueError(f"not a host or host:port: {entry!r}")
            return [e.strip() if isinstance(e, str) else e for e in v]
        return v

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


def dotenv_file(settings_cls: type[BaseSettings] = Settings) -> Path | None:
    """The `.env` file the settings read, if it exists."""
    env_file = settings_cls.model_config.get("env_file")
    path = Path(env_file) if isinstance(env_file, (str, Path)) else None
    return path if path is not None and path.is_file() else None


def dotenv_values_of(settings_cls: type[BaseSettings] = Settings) -> dict[str, str]:
    path = dotenv_file(settings_cls)
    if path is None:
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def check_variables(settings_cls: type[BaseSettings] = Settings) -> None:
    """Refuse an `ASKDESK_*` variable (environment or `.env`) that names no setting."""
    for unknown in unknown_variables(os.environ, settings_cls):
        raise unknown.error()
    path = dotenv_file(settings_cls)
    if path is not None:
        for unknown in unknown_variables(dotenv_values_of(settings_cls), settings_cls, str(path)):
            raise unknown.error()
