"""Builds engines, stores and ingesters from settings — the only place settings meet the layers.

Lower layers take plain parameters; this module reads the settings object and passes them
down, so each layer stays usable and testable without the shell.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from askdesk.settings import Settings
from bots.common import ChannelConfig, ChannelDirectory
from core.compose import ExtractiveComposer
from core.desk import SupportDesk
from core.engine import AnswerEngine, EngineConfig
from feedback.store import FeedbackStore
from retrieval.embedding import Embedder
from retrieval.index import ChunkIndex
from retrieval.ingest import Ingester
from retrieval.search import CrossEncoderReranker, FusionConfig, Searcher


class DataDirError(Exception):
    """The data dir can't be used (e.g. it is a file); one line for the user."""


@dataclass
class App:
    """Everything a command needs, built lazily from one Settings object."""

    settings: Settings

    def __post_init__(self) -> None:
        d = self.settings.data_dir
        if d.exists() and not d.is_dir():
            raise DataDirError(f"data dir {d} exists but is not a folder; set ASKDESK_DATA_DIR")

    @cached_property
    def embedder(self) -> Embedder:
        s = self.settings
        return Embedder(s.embed_model, threads=s.embed_threads, batch_size=s.embed_batch_size)

    @cached_property
    def index(self) -> ChunkIndex:
        return ChunkIndex(self.settings.lancedb_location)

    @cached_property
    def store(self) -> FeedbackStore:
        return FeedbackStore(self.settings.database_location)

    @cached_property
    def searcher(self) -> Searcher:
        s = self.settings
        fusion = FusionConfig(
            mode=s.search_mode,
            vector_weight=s.vector_weight,
            text_weight=s.text_weight,
            rrf_k=s.rrf_k,
            candidates=s.search_candidates,
            doc_weight=s.doc_weight,
        )
        reranker = CrossEncoderReranker(s.reranker_model) if s.reranker_model else None
        return Searcher(self.index, self.embedder, fusion, reranker)

    def engine(self, *, record: bool = True) -> AnswerEngine:
        s = self.settings
        composer = ExtractiveComposer(
            max_words=s.answer_max_words, url_template=s.docs_url_template
        )
        config = EngineConfig(
            k=s.top_k, min_confidence=s.min_confidence, max_question_chars=s.max_question_chars
        )
        return AnswerEngine(
            self.searcher,
            composer,
            config=config,
            recorder=self.store if record else None,
            asker_salt=s.salt() if record else "",
        )

    def desk(self) -> SupportDesk:
        """What the chat adapters talk to: answering, votes, escalations, thread context."""
        return SupportDesk(self.engine(), self.store, self.settings.salt())

    def channels(self) -> ChannelDirectory:
        s = self.settings
        default = ChannelConfig(escalate_to=tuple(s.escalate_to))
        return ChannelDirectory(
            default,
            {
                cid: ChannelConfig(
                    paths=tuple(c.paths),
                    respond_to=c.respond_to,
                    escalate_to=tuple(
                        c.escalate_to if c.escalate_to is not None else s.escalate_to
                    ),
                )
                for cid, c in s.channels.items()
            },
        )

    def ingester(self) -> Ingester:
        return Ingester(self.index, self.embedder)

    def docs_dir(self, given: Path | None) -> Path | None:
        """The folder to index: the argument, else the setting, else the last run's folder."""
        if given is not None:
            return given
        if self.settings.docs_dir is not None:
            return self.settings.docs_dir
        last = self.store.last_index_run()
        return Path(last["docs_root"]) if last else None
