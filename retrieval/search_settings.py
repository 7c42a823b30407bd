"""The settings block of embedding and search: which model embeds, how hybrid search fuses.

Declared here, beside the search it configures; `askdesk.settings` assembles it with the
other blocks (the names stay flat: `ASKDESK_SEARCH_MODE`, `search_mode = ...`). The fusion
defaults live in `askdesk.retrieval.fusion.FusionConfig`, measured in BENCHMARKS.md. Light on
purpose: pydantic only, for every command imports it.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from askdesk.retrieval.fusion import FusionConfig

_FUSION = FusionConfig()  # the search defaults live there, measured in BENCHMARKS.md


class SearchSettings(BaseModel):
    """The `embed_*`, reranker and search settings."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    embed_model: str = "all-MiniLM-L6-v2"
    embed_threads: int = Field(default_factory=lambda: max(1, min(os.cpu_count() or 1, 4)))
    embed_batch_size: int = 32
    embed_backend: Literal["auto", "onnx", "torch"] = Field(
        "auto",
        description="auto: onnxruntime on an ONNX export cached in DATA_DIR/models/embed-onnx, "
        "else sentence-transformers (needs askdesk[torch]); onnx or torch: only that one.",
    )
    reranker_model: str | None = None

    search_mode: Literal["hybrid", "vector", "fts"] = _FUSION.mode
    fusion_method: Literal["score", "rrf"] = Field(
        _FUSION.method, description="Hybrid fusion: `score` (cosine + weighted BM25) or `rrf`."
    )
    vector_weight: float = _FUSION.vector_weight
    text_weight: float = _FUSION.text_weight
    rrf_k: int = _FUSION.rrf_k
    search_candidates: int = _FUSION.candidates
    doc_weight: float = _FUSION.doc_weight
    passage_weight: float = Field(
        _FUSION.passage_weight,
        ge=0.0,
        description="Hybrid score fusion: weight of a chunk's best stored passage's cosine "
        "(0 ranks by whole chunks only).",
    )

    def fusion(self) -> FusionConfig:
        """The Searcher's fusion parameters from this block."""
        return FusionConfig(
            mode=self.search_mode,
            method=self.fusion_method,
            vector_weight=self.vector_weight,
            text_weight=self.text_weight,
            rrf_k=self.rrf_k,
            candidates=self.search_candidates,
            doc_weight=self.doc_weight,
            passage_weight=self.passage_weight,
        )
