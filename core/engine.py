"""AnswerEngine: one question in, one grounded, cited answer out — for every front end.

The stages are explicit and timed (validate → search → compose → style → tone → record) so the
answer carries its own latency breakdown and the versions of everything that produced it,
which is what the dashboard later needs to tell a stale index from a drifting style model.

Everything the engine uses of the retriever, composer, rewriter, tone scorer and recorder is
in their ports (askdesk.core.ports); the answer carries its trace (the search result, what the
composer was given and returned) so evaluation scores exactly what the answer was made from.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from askdesk.core.citations import closest_pages
from askdesk.core.conversation import Contextual, composer_vector, standalone
from askdesk.core.ports import Composer, NoRewrite, Recorder, Retriever, Rewriter, Tone
from askdesk.core.types import (
    MAX_STORED_QUESTION_CHARS,
    Answer,
    AnswerTrace,
    Composition,
    Question,
    Source,
    clip_question,
    clipped_marker,
)
from askdesk.feedback.hashing import hash_user
from askdesk.feedback.records import InteractionRecord, StyleOutcome
from askdesk.feedback.style_notes import StyleNote
from askdesk.retrieval.search import SearchHit, SearchResult

log = logging.getLogger(__name__)

EMPTY_REPLY = (
    "Ask me a question about the docs, for example: “How do I rotate my API key?” "
    "I answer from the indexed documentation and cite the pages I used."
)
NOT_FOUND = "I couldn't find this in the docs, so I won't guess."
GREETING_REPLY = "Hi! Ask me anything about the docs and I'll answer with the pages I used."
THANKS_REPLY = (
    "You're welcome! Rate the answer with 👍/👎 so the team knows how the docs are doing."
)
_GREETING = re.compile(
    r"^(hi|hello|hey|hiya|yo|good (morning|afternoon|evening))\b[\s!.,]*(there)?[\s!.]*$", re.I
)
_THANKS = re.compile(r"^(thanks|thank you|thx|ty|cheers)\b[\s\w!.,]{0,20}$", re.I)
NOT_FOUND_WITH_SOURCES = NOT_FOUND + " These pages came closest:"
# Leads an answer in the hedged zone (askdesk.core.answerability.HEDGE_BIAS_SHIFT): the docs came
# close but the decision is not sure they answer; the quote and its citation follow as usual.
HEDGE_LINE = "I'm not sure the docs cover this — here is the closest I found:"
STYLE_PENDING = StyleNote.PENDING.value  # a draft posted first, its styled edit on the way


@dataclass(frozen=True)
class EngineConfig:
    k: int = 5  # chunks handed to the composer
    retrieve_k: int = 10  # ranked documents kept for evaluation (hit@k, nDCG@10)
    min_confidence: float = 0.15  # top cosine: below it nothing is composed (the decision model
    # declines the rest); 0.25 gated 2 of git's 17 answerable questions and 6 of zsh's 60
    max_question_chars: int = 4000  # searched with at most this much of the question
    max_stored_question_chars: int = MAX_STORED_QUESTION_CHARS  # kept, stored, echoed back
    style_by_default: bool = False
    answer_context: bool = True  # hand the composer the chunks around the hits, with passages
    url_template: str | None = None  # links of the closest pages listed when declining


class AnswerEngine:
    def __init__(
        self,
        searcher: Retriever,
        composer: Composer,
        *,
        config: EngineConfig | None = None,
        rewriter: Rewriter | None = None,
        recorder: Recorder | None = None,
        tone: Tone | None = None,
        asker_salt: str = "",
    ) -> None:
        self.searcher = searcher
        self.composer = composer
        self.config = config or EngineConfig()
        self.rewriter = rewriter or NoRewrite()
        self.recorder = recorder
        self.tone = tone
        self.asker_salt = asker_salt

    def versions(self) -> dict[str, Any]:
        return {
            **self.searcher.versions(),
            "composer": self.composer.version,
            "style_model": self.rewriter.version,
            "tone_scorer": self.tone.version if self.tone is not None else None,
        }

    def warm_up(self, *, style: bool | None = None) -> None:
        """Open the index and load the models now, so the first answer's timings are honest;
        the style model too when answers will use it (`style`, default: the engine's)."""
        self.searcher.warm_up()
        if (self.config.style_by_default if style is None else style) and self.rewriter.version:
            try:
                self.rewriter.load()  # a style model loads lazily otherwise
            except Exception as exc:  # the rewrite then fails per answer, draft kept
                log.warning("style model not loaded", extra={"error": type(exc).__name__})

    def kept(self, question: Question) -> tuple[Question, int | None]:
        """The question as stored: cut to `max_stored_question_chars` with a marker saying so,
        and the full length when it was cut (None otherwise). A 5 MB message is one question
        to search and one row to keep, not 5 MB of it."""
        kept, total = clip_question(question.text, self.config.max_stored_question_chars)
        if total is None:
            return question, None
        return replace(question, text=kept + clipped_marker(total)), total

    def answer(self, question: Question, *, defer_style: bool = False) -> Answer:
        """The grounded answer, styled when the question wants the voice. With `defer_style`
        the rewrite is left out (`answer.style_pending`): a chat front end posts the draft at
        once and calls `finish_style` for the styled text to edit in (style_delivery="edit")."""
        t0 = time.perf_counter()
        question, total = self.kept(question)
        searched = question.text[: self.config.max_stored_question_chars]  # not the marker
        text = " ".join(searched.split())
        canned = _small_talk(text)
        if canned is not None:
            answer = Answer(canned, [], 0.0, True, question=question.text)
            answer.versions = self.versions()
            answer.timings_ms["total_ms"] = (time.perf_counter() - t0) * 1000
            return answer  # nothing was asked of the docs: nothing to record

        notice = _long_notice(len(text), total, self.config)
        text = text[: self.config.max_question_chars]

        # a follow-up ("and on Windows?") is searched and composed as one standalone question
        turn = standalone(text, question.history)
        query = turn.text
        result = self.searcher.search(
            query,
            max(self.config.k, self.config.retrieve_k),
            path_prefixes=question.path_prefixes or None,
        )
        hits = result.hits
        trace = AnswerTrace(query, result)
        timings = dict(result.timings_ms)
        confidence = round(max((h.similarity for h in hits[:3]), default=0.0), 4)

        t = time.perf_counter()
        unanswered = confidence < self.config.min_confidence  # clearly off-topic: not composed
        c: Composition | None = None
        if unanswered:
            draft, sources = self._not_found(hits)
        else:
            # the question as searched, with everything else it carries (thread history)
            c = self._compose(replace(question, text=query), trace, self._aim(turn, result))
            draft, sources = c.text, c.sources
            if not draft or not c.answerable:
                unanswered = True
                draft, sources = self._not_found(hits)
            elif c.hedged:
                draft = hedge(draft)
        timings["compose_ms"] = (time.perf_counter() - t) * 1000

        answer = Answer(
            text=draft,
            sources=sources,
            confidence=confidence,
            unanswered=unanswered,
            question=question.text,
            hedged=not unanswered and c is not None and c.hedged,
            retrieved=_ranked_docs(hits),
            notice=notice,
            draft=draft,
            versions=self.versions(),
            decision=c.decision.as_dict() if c is not None and c.decision else None,
            composer=(c.composer or self.composer.name) if c is not None else None,
            composer_note=c.note if c is not None else None,
            check=c.check if c is not None else None,
            trace=trace,
        )
        if not unanswered and self._style_wanted(question):
            if defer_style:
                answer.style_pending, answer.style_note = True, STYLE_PENDING
            else:
                self._restyle(answer, question, timings)
        if not unanswered and self.tone is not None:
            self._score_tone(answer, timings)
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        answer.timings_ms = {k: round(v, 2) for k, v in timings.items()}
        if self.recorder is not None:
            self._record(answer, question)
        return answer

    # -- stages ------------------------------------------------------------------------------
    def _compose(
        self, question: Question, trace: AnswerTrace, query_vector: np.ndarray | None = None
    ) -> Composition:
        """The composition of the top hits (with the chunks around them, when configured),
        noted in the trace. `question` is whole: a composer may use the thread's history.
        `query_vector`: what the composer scores blocks by (default: the search's)."""
        hits = trace.result.hits[: self.config.k]
        trace.passages = self.searcher.context(hits) if self.config.answer_context else hits
        vector = query_vector if query_vector is not None else trace.result.query_vector
        trace.composition = self.composer.compose(
            question, trace.passages, vector, trace.result.unmatched_terms
        )
        return trace.composition

    def _aim(self, turn: Contextual, result: SearchResult) -> np.ndarray | None:
        """The composer's vector for a fused follow-up (askdesk.core.conversation.composer_vector):
        the topic question's vector comes from a one-hit search of it. None: the search's."""
        if turn.anchor is None or result.query_vector is None:
            return None
        try:
            anchor = self.searcher.search(turn.anchor, 1).query_vector
        except Exception as exc:  # the fused question's own vector still answers
            log.warning("topic vector not found", extra={"error": type(exc).__name__})
            return None
        return None if anchor is None else composer_vector(result.query_vector, anchor)

    def _not_found(self, hits: list[SearchHit]) -> tuple[str, list[Source]]:
        closest = closest_pages(hits, self.config.url_template)
        return (NOT_FOUND_WITH_SOURCES if closest else NOT_FOUND), closest

    def _style_wanted(self, question: Question) -> bool:
        wanted = self.config.style_by_default if question.style is None else question.style
        return bool(wanted) and self.rewriter.version is not None

    def _restyle(self, answer: Answer, question: Question, timings: dict[str, float]) -> None:
        """Apply the style hook; on any failure the grounded draft stands, with the reason.
        A hedged answer's lead line never reaches the style model (it could reword or drop
        it): only the quote is rewritten, and the line is put back in front."""
        t = time.perf_counter()
        lead, body = split_hedge(answer.text) if answer.hedged else ("", answer.text)
        try:
            styled, note = self.rewriter.rewrite(body, question)
        except Exception as exc:
            styled, note = None, StyleNote.STYLE_FAILED.with_detail(type(exc).__name__)
            log.warning("style rewrite failed", extra={"error": type(exc).__name__})
        timings["style_ms"] = (time.perf_counter() - t) * 1000
        answer.style_note = note
        if styled:
            answer.text = hedge(styled) if lead else styled
            answer.style_used = True

    def _score_tone(self, answer: Answer, timings: dict[str, float]) -> None:
        """Score the text the asker gets; a failing scorer costs the score, never the answer."""
        t = time.perf_counter()
        try:
            score = float(self.tone.score(answer.text))  # type: ignore[union-attr]
            answer.tone_score = round(score, 4) if 0.0 <= score <= 1.0 else None
            if answer.tone_score is None:
                log.warning("tone score out of range", extra={"score": score})
        except Exception as exc:
            log.warning("tone scoring failed", extra={"error": type(exc).__name__})
        timings["tone_ms"] = (time.perf_counter() - t) * 1000

    def _record(self, answer: Answer, question: Question) -> None:
        asker = (
            hash_user(self.asker_salt, question.platform, question.asker_id)
            if question.asker_id
            else None
        )
        t = time.perf_counter()
        try:
            answer.interaction_id = self.recorder.record(  # type: ignore[union-attr]
                InteractionRecord(
                    platform=question.platform,
                    channel=question.channel,
                    thread=question.thread,
                    asker_hash=asker,
                    question=question.text,
                    answer=answer.text,
                    sources=[
                        {
                            "n": s.n,
                            "path": s.path,
                            "title": s.title,
                            "heading": s.heading,
                            "score": s.score,
                            "url": s.url,
                        }
                        for s in answer.sources
                    ],
                    confidence=answer.confidence,
                    unanswered=answer.unanswered,
                    hedged=answer.hedged,
                    latency_ms=answer.timings_ms.get("total_ms", 0.0),
                    timings=answer.timings_ms,
                    versions=answer.versions,
                    style_model_version=self.rewriter.version if answer.style_used else None,
                    style_used=answer.style_used,
                    style_note=answer.style_note,
                    draft=answer.draft if answer.style_used else None,
                    tone_score=answer.tone_score,
                    composer=answer.composer,
                    composer_note=answer.composer_note,
                    **({"shown": "draft"} if answer.style_pending else {}),
                )
            )
        except Exception as exc:  # the asker still gets the answer; the loss is logged
            log.error("could not record interaction", extra={"error": str(exc)[:200]})
        answer.timings_ms["record_ms"] = round((time.perf_counter() - t) * 1000, 2)


def finish_style(engine: AnswerEngine, answer: Answer, question: Question) -> Answer | None:
    """The styled version of an answer returned with `style_pending`, or None when the draft
    stands (the rewrite failed, timed out or broke a fact; `answer.style_note` says why).

    Runs the same style and tone stages `answer` would have, then stores the outcome on the
    recorded interaction (the recorder's `record_style`). Never raises: a failure
    anywhere leaves the grounded answer that is already posted."""
    if not answer.style_pending:
        return None
    styled = replace(answer, timings_ms=dict(answer.timings_ms), style_pending=False)
    timings: dict[str, float] = {}
    engine._restyle(styled, question, timings)
    if styled.style_used and engine.tone is not None:
        engine._score_tone(styled, timings)
    answer.style_pending, answer.style_note = False, styled.style_note
    styled.timings_ms.update({k: round(v, 2) for k, v in timings.items()})
    if answer.interaction_id is not None and engine.recorder is not None:
        try:
            engine.recorder.record_style(
                answer.interaction_id,
                StyleOutcome(
                    styled=styled.text if styled.style_used else None,
                    note=styled.style_note,
                    style_model_version=engine.rewriter.version if styled.style_used else None,
                    tone_score=styled.tone_score if styled.style_used else None,
                    style_ms=timings.get("style_ms"),
                ),
            )
        except Exception as exc:  # the styled text can still be shown; the loss is logged
            log.error("could not record the style outcome", extra={"error": str(exc)[:200]})
    return styled if styled.style_used else None


def hedge(text: str) -> str:
    """`text` led by the hedge line, on a line of its own."""
    return f"{HEDGE_LINE}\n\n{text}"


def split_hedge(text: str) -> tuple[str, str]:
    """(the hedge line, the rest) of a hedged answer's text; ("", text) without the line."""
    if not text.startswith(HEDGE_LINE):
        return "", text
    return HEDGE_LINE, text[len(HEDGE_LINE) :].lstrip("\n")


def _long_notice(searched: int, total: int | None, config: EngineConfig) -> str | None:
    """Tell the asker what of a long message was used: searched, and (if cut) kept."""
    cut = total is not None
    if searched <= config.max_question_chars and not cut:
        return None
    used = min(searched, config.max_question_chars)
    kept = f" and kept only its first {config.max_stored_question_chars:,}" if cut else ""
    return (
        f"Your message is long ({total or searched:,} characters); I searched with its first "
        f"{used:,}{kept}. Ask one question at a time for a better answer."
    )


def _small_talk(text: str) -> str | None:
    """Replies for an empty message, a greeting or thanks: searching the docs would be absurd."""
    if not text:
        return EMPTY_REPLY
    if _GREETING.match(text):
        return GREETING_REPLY
    if _THANKS.match(text):
        return THANKS_REPLY
    return None


def _ranked_docs(hits: list[SearchHit]) -> list[str]:
    seen: list[str] = []
    for h in hits:
        if h.doc_id not in seen:
            seen.append(h.doc_id)
    return seen
