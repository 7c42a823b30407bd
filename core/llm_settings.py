"""The settings block of the `llm` answer backend (README "Bring your own LLM").

Declared beside `askdesk.core.llm_compose`, which receives this block (never the whole settings);
`askdesk.settings` assembles it with the others (flat names: `ASKDESK_LLM_MODEL`, …).
Light on purpose: pydantic only (the OpenAI client loads with the composer).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class LLMSettings(BaseModel):
    """The `llm_*` settings: where the model is, its deadlines and limits."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

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
