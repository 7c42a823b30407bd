"""The conversation a style version is trained on and prompted with, and its style file.

Training (`askdesk.styling.training.fine_tune`) and generation
(`askdesk.styling.generation.rewrite`) must build exactly the same prompt, or the model sees at
rewrite time a turn it never learnt; so the format lives here, below both, and neither imports the
other for it.
"""

from __future__ import annotations

from typing import Any

SYSTEM_PROMPT = "Rewrite in the brand voice; keep every fact."
#: What the rewriter needs of a version folder (mode, base model, terms, frame), as JSON.
STYLE_FILE = "style.json"


def chat_messages(draft: str, answer: str | None = None) -> list[dict[str, str]]:
    """The conversation the model sees: system line, draft as user turn, answer if given."""
    msgs = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": draft}]
    if answer is not None:
        msgs.append({"role": "assistant", "content": answer})
    return msgs


def prompt_text(tokenizer: Any, draft: str) -> str:
    """The generation prompt for a (protected) draft, ending where the answer starts."""
    return tokenizer.apply_chat_template(
        chat_messages(draft), tokenize=False, add_generation_prompt=True
    )
