"""A trained version folder: its style file, and its model loaded for generation.

A LoRA version is merged into its base once, here; a full version loads as is. The base is
found through `askdesk.styling.model.base.base_model_for`, never relative to the current directory.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from askdesk.styling.model.base import base_model_for, load_model
from askdesk.styling.model.prompt import STYLE_FILE


def read_style(model_dir: Path) -> dict[str, Any]:
    """The version's style.json (mode, base model, terms, frame); a folder without one is
    not a version, and the error says so."""
    path = model_dir / STYLE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{model_dir} is not a style model version (no {STYLE_FILE})")
    return json.loads(path.read_text())


def load_version(
    model_dir: Path, style: dict[str, Any], threads: int | None, base_cache: Path | None = None
) -> tuple[Any, Any]:
    """(model, tokenizer) of a version folder: a full model as is, a LoRA adapter merged
    into its base (askdesk.styling.model.base.base_model_for: never relative to the current dir)."""
    import torch  # optional: torch, transformers (askdesk[style])
    from transformers import AutoTokenizer

    if threads:
        torch.set_num_threads(threads)
    # transformers' own deprecation notice, raised while peft merges the adapter: not ours
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
    if style.get("mode") == "lora":
        from peft import PeftModel  # optional: peft (askdesk[style])

        base, _ = load_model(base_model_for(str(style["base_model"]), model_dir, base_cache))
        model = PeftModel.from_pretrained(base, str(model_dir)).merge_and_unload()
    else:
        model, _ = load_model(str(model_dir))
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.eval()
    return model, tok
