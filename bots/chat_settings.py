"""The settings blocks of the chat surfaces: channels and conversations, Slack, Discord, the
HTTP API.

Declared beside the bots; `askdesk.settings` assembles them with the others (flat names:
`ASKDESK_FOLLOW_UPS`, `SLACK_BOT_TOKEN` or `ASKDESK_SLACK_BOT_TOKEN`, …). Light on purpose:
pydantic and the Slack request guard's constant, no Bolt, no discord.py.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from askdesk.bots.slack.guard import MAX_REQUEST_BYTES


def _env(*names: str) -> AliasChoices:
    """Accept the platform's conventional variable (SLACK_BOT_TOKEN) and the ASKDESK_ one."""
    return AliasChoices(*names, *(f"ASKDESK_{n}" for n in names))


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


class ChatSettings(BaseModel):
    """How the bots converse, on every platform: channels, hand-offs, threads, DMs."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

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


class SlackSettings(BaseModel):
    """Slack's tokens and limits (the platform's own variable names work too)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

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


class DiscordSettings(BaseModel):
    """Discord's bot token (DISCORD_BOT_TOKEN works too)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    discord_bot_token: SecretStr | None = Field(None, validation_alias=_env("DISCORD_BOT_TOKEN"))


class HttpApiSettings(BaseModel):
    """The HTTP API (`askdesk serve`): keys, CORS, address, limits."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

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
