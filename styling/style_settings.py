"""The settings block of the style model (`style_*`).

Declared beside the style code; `askdesk.settings` assembles it with the others (flat
names: `ASKDESK_STYLE_ENABLED`, …). Light on purpose: pydantic only, no torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StyleSettings(BaseModel):
    """Whether and how answers are rewritten in the brand voice."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

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
