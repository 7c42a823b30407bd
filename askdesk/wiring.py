"""Builds engines, stores and ingesters from settings — the only place settings meet the layers.

Lower layers take plain parameters; this module reads the settings object and passes them
down, so each layer stays usable and testable without the shell.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from askdesk.asker_salt import shared_salt
from askdesk.bots.common import ChannelConfig, ChannelDirectory
from askdesk.bots.delivery import FollowUpPolicy
from askdesk.composers import build_composer
from askdesk.core.answerability import Calibration, DecisionModel
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine, EngineConfig
from askdesk.core.ports import Composer, Tone
from askdesk.feedback.store import FeedbackStore
from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import CrossEncoderReranker, Searcher
from askdesk.settings import SearchSettings, Settings
from askdesk.tones import ToneContext, build_tone

if TYPE_CHECKING:
    from askdesk.styling.generation.rewrite import StyleRewriter

log = logging.getLogger(__name__)


class DataDirError(Exception):
    """The data dir can't be used (e.g. it is a file); one line for the user."""


@dataclass
class App:
    """Everything a command needs, built lazily from one Settings object."""

    settings: Settings
    _salt: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        d = self.settings.data_dir
        if d.exists() and not d.is_dir():
            raise DataDirError(f"data dir {d} exists but is not a folder; set ASKDESK_DATA_DIR")

    @cached_property
    def embedder(self) -> Embedder:
        search = self.settings.block(SearchSettings)
        return Embedder.for_data_dir(
            self.settings.data_dir,
            search.embed_model,
            threads=search.embed_threads,
            batch_size=search.embed_batch_size,
            backend=search.embed_backend,
        )

    @cached_property
    def index(self) -> ChunkIndex:
        s = self.settings
        return ChunkIndex(s.lancedb_location, storage_options=s.lancedb.storage_options)

    @cached_property
    def store(self) -> FeedbackStore:
        return FeedbackStore(self.settings.database_location)

    @property
    def shared_database(self) -> bool:
        """True when the database is a server several machines share (not a SQLite file):
        then claims, locks and the asker salt live in it (see `askdesk.fleet`)."""
        return make_url(self.settings.database_location).get_backend_name() != "sqlite"

    def salt(self) -> str:
        """The asker-hashing secret: the setting, else on a shared database the fleet's one
        (created once there; an existing DATA_DIR/salt is imported, never replaced), else
        the one generated into the data dir."""
        if self._salt is None:
            s = self.settings
            if self.shared_database and not (s.asker_salt and s.asker_salt.get_secret_value()):
                self._salt = shared_salt(self.store, s.data_dir / "salt")
            else:
                self._salt = s.salt()
        return self._salt

    @cached_property
    def searcher(self) -> Searcher:
        search = self.settings.block(SearchSettings)
        model = search.reranker_model
        reranker = CrossEncoderReranker(model) if model else None
        return Searcher(self.index, self.embedder, search.fusion(), reranker)

    def composer(self) -> Composer:
        """The composer `answer_backend` names, with the extractive one to fall back to.
        Raises ComposerError (one line) for a name that is neither built in nor installed."""
        s = self.settings
        extractive = ExtractiveComposer(
            max_words=s.answer_max_words,
            url_template=s.docs_url_template,
            decision=self.decision_model(),
        )
        return build_composer(s, extractive)

    def engine(self, *, record: bool = True) -> AnswerEngine:
        s = self.settings
        composer = self.composer()  # first: an unknown backend fails before anything loads
        config = EngineConfig(
            k=s.top_k,
            min_confidence=s.min_confidence,
            max_question_chars=s.max_question_chars,
            max_stored_question_chars=s.max_stored_question_chars,
            style_by_default=s.style_enabled,
            url_template=s.docs_url_template,
        )
        return AnswerEngine(
            self.searcher,
            composer,
            config=config,
            rewriter=self.style_rewriter(),
            recorder=self.store.interactions if record else None,
            tone=self.tone_scorer(),
            asker_salt=self.salt() if record else "",
        )

    def decision_model(self) -> DecisionModel:
        """When to decline (and when to hedge: `answer_hedge_shift`): this knowledge base's
        calibration if one was made for the current embedding model (see
        askdesk.upkeep.calibrate), else the default model."""
        base = DecisionModel()
        if self.settings.answer_hedge_shift is not None:
            base = replace(base, hedge_shift=self.settings.answer_hedge_shift)
        if self.settings.answer_calibration:
            cal = Calibration.load(self.settings.calibration_file)
            if cal is not None and cal.embed_model == self.settings.embed_model:
                return cal.model(base)
        return base

    # -- style model -----------------------------------------------------------------------
    @property
    def style_root(self) -> Path:
        """DATA_DIR/style: one folder per trained version, and the `active` pointer file."""
        return self.settings.data_dir / "style"

    @property
    def base_model_cache(self) -> Path:
        """Where the packaged SmolLM2 GGUF is converted to safetensors, once."""
        return self.settings.data_dir / "models" / "smollm2-135m-instruct"

    def data_relative(self, path: Path) -> str:
        """`path` as stored in the database: relative to the data dir when inside it (so a
        moved data dir stays right), absolute otherwise."""
        path = Path(path).absolute()
        try:
            return str(path.relative_to(self.settings.data_dir))
        except ValueError:
            return str(path)

    def active_style_version(self) -> str | None:
        """The `style_model` setting, else the version chosen with `askdesk style use`."""
        if self.settings.style_model:
            return self.settings.style_model
        pointer = self.style_root / "active"
        return (pointer.read_text().strip() or None) if pointer.is_file() else None

    def style_folder(self, version: str | None = None) -> Path | None:
        """The folder of `version` (a version name or a path), default the active one."""
        version = version or self.active_style_version()
        if not version:
            return None
        given = Path(version).expanduser()
        folder = given if given.is_dir() else self.style_root / version
        return folder if folder.is_dir() else None

    def style_rewriter(self, version: str | None = None) -> StyleRewriter | None:
        """The rewriter for the active (or given) version; None when no style model is set
        up. Building it is cheap: the model loads on the first rewrite."""
        folder = self.style_folder(version)
        if folder is None:
            if version or self.active_style_version():
                log.warning("style model not found", extra={"version": version or ""})
            return None
        # lean: the style model's code (~0.1 s) loads only when a version is active (issue 23)
        from askdesk.styling.generation.rewrite import StyleRewriter

        s = self.settings
        return StyleRewriter(
            folder,
            time_budget_s=s.style_time_budget_s,
            threads=s.style_threads,
            base_cache=self.base_model_cache,
        )

    def tone_folder(self) -> Path | None:
        """Where the tone scorer lives: next to the active style model version if it has one
        (DATA_DIR/style/<version>/tone/), else DATA_DIR/style/tone/; None if neither exists."""
        style = self.settings.data_dir / "style"
        active = self.active_style_version()
        candidates = []
        if active:
            given = Path(str(active)).expanduser()
            candidates += [given / "tone", style / str(active) / "tone"]
        candidates.append(style / "tone")
        return next((c for c in candidates if c.is_dir()), None)

    def tone_scorer(self) -> Tone | None:
        """The tone hook for the engine: the `tone_scorer` plugin (built-in: the trained
        `logistic` scorer, bound to this App's embedder), or None (answers are then recorded
        without a tone score). A missing or broken scorer is logged, never fatal."""
        context = ToneContext(
            folder=self.tone_folder(),
            embed=lambda texts: self.embedder.encode(texts),  # the model loads on first use
            embed_model=self.settings.embed_model,
        )
        return build_tone(self.settings.tone_scorer, context)

    def desk(self) -> SupportDesk:
        """What the chat adapters talk to: answering, votes, escalations, thread context."""
        return SupportDesk(
            self.engine(),
            self.store,
            self.salt(),
            style_delivery=self.settings.style_delivery,
        )

    def channels(self) -> ChannelDirectory:
        s = self.settings
        default = ChannelConfig(escalate_to=tuple(s.escalate_to), follow_ups=s.follow_ups)
        return ChannelDirectory(
            default,
            {
                cid: ChannelConfig(
                    paths=tuple(c.paths),
                    respond_to=c.respond_to,
                    escalate_to=tuple(
                        c.escalate_to if c.escalate_to is not None else s.escalate_to
                    ),
                    follow_ups=c.follow_ups or s.follow_ups,
                )
                for cid, c in s.channels.items()
            },
        )

    def follow_up_policy(self) -> FollowUpPolicy:
        """The conversation settings every chat surface shares (README "Follow-ups")."""
        s = self.settings
        return FollowUpPolicy(
            dm_window_s=s.dm_window_minutes * 60,
            thread_limit=s.thread_answer_limit,
            thread_window_s=s.thread_limit_minutes * 60,
        )

    def ingester(self) -> Ingester:
        return Ingester(self.index, self.embedder)

    def docs_dir(self, given: Path | None) -> Path | None:
        """The folder to index: the argument, else the setting, else the last folder run
        (not a site's, a repository's or a configured source's)."""
        if given is not None:
            return given
        if self.settings.docs_dir is not None:
            return self.settings.docs_dir
        for run in self.store.index_runs.recent(limit=50):
            root = str(run.get("docs_root") or "")
            if not run.get("source") and root.startswith("/") and "://" not in root:
                return Path(root)
        return None
