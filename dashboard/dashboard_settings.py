"""The settings blocks of the dashboard: where it listens, and the reindex/retrain rules.

Declared beside the dashboard; `askdesk.settings` assembles them with the others (flat
names: `ASKDESK_DASHBOARD_PORT`, `tone_target = ...`). The rules' defaults live with the
rules (`askdesk.dashboard.decision.Thresholds`); `RulesSettings.thresholds()` hands them over.
Light on purpose: pydantic and the host parser, no Dash.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from askdesk.dashboard.decision import Thresholds
from askdesk.dashboard.hosts import split_host

_RULES = Thresholds()


class DashboardSettings(BaseModel):
    """The `dashboard_*` settings: address, login, allowed host names."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

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


class RulesSettings(BaseModel):
    """The thresholds of the reindex / retrain rules (README, the dashboard)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

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

    def thresholds(self) -> Thresholds:
        """The rules' thresholds from this block."""
        return Thresholds(**{f.name: getattr(self, f.name) for f in fields(Thresholds)})
