"""The settings block of answering: how many passages, when to decline, who composes.

Declared beside the answer core; `askdesk.settings` assembles it with the other blocks
(flat names: `ASKDESK_TOP_K`, `top_k = ...`). Light on purpose: pydantic and two constants.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from askdesk.core.citations import URL_PLACEHOLDER
from askdesk.core.types import MAX_STORED_QUESTION_CHARS


class AnswerSettings(BaseModel):
    """`top_k`, `min_confidence`, the answer's length and links, `answer_backend`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

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
    # -- who writes answers; `llm` also reads the llm_* block (askdesk.core.llm_settings)
    answer_backend: str = Field(
        "extractive",
        description="Who writes answers: `extractive` (quotes the docs), `llm` (an "
        "OpenAI-compatible model, checked against the passages), or a composer installed "
        "through the `askdesk.composers` entry points.",
    )

    @field_validator("docs_url_template")
    @classmethod
    def _has_path(cls, v: str | None) -> str | None:
        if v and URL_PLACEHOLDER not in v:
            raise ValueError(f"docs_url_template must contain {URL_PLACEHOLDER}")
        return v

    @field_validator("answer_backend")
    @classmethod
    def _backend_name(cls, v: str) -> str:
        """Names are compared as written in lower case; whether one exists is checked when
        the engine is built (installed composers are only known then)."""
        v = v.strip().lower()
        if not v:
            raise ValueError("answer_backend must name a composer, e.g. extractive")
        return v
