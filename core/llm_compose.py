"""The LLM composer: an answer written by the team's own model, checked claim by claim.

Any server that speaks OpenAI's Chat Completions protocol works (Ollama, vLLM, llama.cpp's
server, LM Studio, LiteLLM, OpenAI, Azure OpenAI) through the official `openai` client with a
`base_url`. The model gets the numbered passages of the hits the extractive composer would
quote from (title, heading, text), the thread's earlier turns, and one rule: answer only from
the passages and cite each claim as [n]. Its reply then goes through `askdesk.core.claim_check`;
what no cited passage supports is dropped.

Whatever goes wrong — no first token in time, the answer deadline passed, 429 or 5xx past the
retry budget, an unreachable server, a malformed, empty, refused or oversized reply, a reply the
check leaves too little of — the asker gets the extractive answer, and the composition says why
(`note`), so the engine records it per interaction and the dashboard counts fallbacks by reason.
The API key is never logged.

The deadlines are wall-clock and cover the whole exchange (`askdesk.core.llm_deadline`): connecting,
waiting for the first token, reading a body or a stream however slowly it arrives, and the
retries, so a server that dribbles bytes or sends SSE comments forever cannot hold an answer.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx2
import numpy as np
import openai
from openai.types.chat import ChatCompletion

from askdesk.core.citations import source_for
from askdesk.core.claim_check import CheckResult, check_reply, renumber
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.llm_deadline import TIMEOUT, BoundedTransport, Budget, spending
from askdesk.core.llm_settings import LLMSettings
from askdesk.core.types import Composition, Question
from askdesk.retrieval.search import SearchHit

log = logging.getLogger(__name__)

MAX_PASSAGES = 5  # documents offered to the model (the extractive composer weighs as many)
PASSAGE_CHARS = 2400  # of each document's retrieved text (~600 tokens): 5 fit a 4k context
HISTORY_TURNS = 3  # earlier turns of the thread given to the model
HISTORY_CHARS = 800  # of each earlier question and answer
BACKOFF_S = 0.25  # first retry wait after a 429/5xx; doubles, capped at MAX_BACKOFF_S
MAX_BACKOFF_S = 4.0
MIN_ATTEMPT_S = 0.2  # no new attempt with less time than this left before the deadline
MAX_ATTEMPTS = 3  # a 429/5xx is tried again at most twice (all inside the answer deadline)
DECLINE_PHRASE = "Not in the docs."

SYSTEM_PROMPT = (
    "You answer questions about a product using ONLY the numbered documentation passages the "
    "user gives you.\n"
    "Rules:\n"
    "1. Use only facts stated in the passages. No outside knowledge, no guesses.\n"
    "2. End every sentence that states a fact with the number of the passage it comes from, "
    "like [1] or [2][3].\n"
    "3. Copy numbers, names, commands, settings and URLs exactly as the passages write them.\n"
    f'4. If the passages do not answer the question, reply exactly: "{DECLINE_PHRASE}"\n'
    "5. Be brief: a few sentences, or short steps when the passages give steps."
)


class LLMFailure(Exception):
    """The model gave no usable reply; `reason` is recorded (short, no secrets, no text)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: str | None = None  # None: a placeholder is sent (local servers ignore it)
    timeout_s: float = 12.0  # the whole answer: connect, first token, reply, retries
    max_tokens: int = 400
    temperature: float = 0.0
    stream: bool = False  # ask for Server-Sent Events (a server that streams anyway works too)
    first_token_s: float = 5.0  # connect, and (streaming) until the reply's first content
    max_reply_bytes: int = 262_144  # received per attempt (headers, JSON or SSE framing too)

    def __repr__(self) -> str:  # the key never shows in a log line or a traceback
        key = "***" if self.api_key else None
        return (
            f"LLMConfig(base_url={self.base_url!r}, model={self.model!r}, api_key={key!r}, "
            f"timeout_s={self.timeout_s}, max_tokens={self.max_tokens}, "
            f"temperature={self.temperature}, stream={self.stream}, "
            f"first_token_s={self.first_token_s}, max_reply_bytes={self.max_reply_bytes})"
        )


@dataclass(frozen=True)
class Passage:
    n: int
    hit: SearchHit  # the document's best-ranked hit: what its Source shows
    text: str


class LLMComposer:
    """A composer that asks a model, checks its claims, and falls back to `fallback`."""

    def __init__(self, config: LLMConfig, fallback: ExtractiveComposer) -> None:
        self.config = config
        self.fallback = fallback
        self.name = "llm"
        self.version = f"llm:{config.model}"
        self._client = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key or "unused",
            timeout=config.timeout_s,
            max_retries=0,  # retries are ours, bounded by the deadline (see _complete)
            # sockets that obey the answer's wall-clock budget (askdesk.core.llm_deadline)
            http_client=openai.DefaultHttpxClient(transport=BoundedTransport()),
        )

    def __repr__(self) -> str:
        return f"LLMComposer({self.config!r})"

    # -- the composer interface (askdesk.core.ports.Composer) --------------------------------------
    def compose(
        self,
        question: Question,
        hits: Sequence[SearchHit],
        query_vector: np.ndarray | None = None,
        unmatched_terms: Sequence[str] | None = None,
    ) -> Composition:
        """The model's checked answer; the extractive one (with the reason) when it fails."""
        extractive = self.fallback.compose(question, hits, query_vector, unmatched_terms)
        passages = select_passages(hits)
        if not passages:
            return extractive
        try:
            reply = self._complete(build_messages(question, passages))
        except LLMFailure as exc:
            log.warning(
                "llm answer failed, extractive answer used",
                extra={"reason": exc.reason, "model": self.config.model},
            )
            return replace(extractive, note=f"fallback: {exc.reason}")
        result = check_reply(reply, {p.n: p.text for p in passages})
        check = result.summary()
        if result.declined:
            return Composition(
                "",
                [],
                answerable=False,
                decision=extractive.decision,
                composer=self.version,
                note="model: not in the docs",
                check=check,
            )
        if not result.enough:
            note = f"fallback: check kept {result.kept} of {result.claims} claims"
            if result.errors:
                note += f" ({result.errors} cite passages that do not exist)"
            log.info("llm answer failed the check", extra={"kept": result.kept, **_counts(result)})
            return replace(extractive, note=note, check=check)
        return self._checked(result, passages, extractive, check)

    # -- steps -------------------------------------------------------------------------------
    def _checked(
        self,
        result: CheckResult,
        passages: list[Passage],
        extractive: Composition,
        check: dict[str, Any],
    ) -> Composition:
        order = result.cited()
        by_n = {p.n: p for p in passages}
        url_template = self.fallback.url_template
        sources = [source_for(i, by_n[old].hit, url_template) for i, old in enumerate(order, 1)]
        note = None
        if result.dropped:
            note = f"check dropped {len(result.dropped)} of {len(result.units)} sentences"
        return Composition(
            renumber(result.text, order),
            sources,
            answerable=True,
            decision=extractive.decision,
            composer=self.version,
            note=note,
            check=check,
            hedged=unsure(extractive),
        )

    def _complete(self, messages: list[dict[str, str]]) -> str:
        """The reply's text, within the answer deadline (`timeout_s`, retries included) and
        the first-token budget. 429 and 5xx are tried again with backoff, at most
        MAX_ATTEMPTS in all and only while the deadline allows; everything else fails at
        once with a short reason."""
        budget = Budget(time.monotonic() + self.config.timeout_s, self.config.max_reply_bytes)
        attempt = 0
        while True:
            remaining = budget.left()
            if remaining < MIN_ATTEMPT_S:
                raise LLMFailure(TIMEOUT)
            attempt += 1
            budget.received = 0
            budget.failed = None
            budget.first_token_by = time.monotonic() + self.config.first_token_s
            budget.connect_by = budget.first_token_by
            try:
                with spending(budget):
                    return self._request(messages, remaining, budget)
            except LLMFailure:
                raise
            except (openai.APIConnectionError, httpx2.TransportError) as exc:
                # (httpx's errors surface as they are while a body or a stream is read.) The
                # budget knows when it cut the socket: "timeout (first token)", "reply too
                # large"; otherwise the client's own verdict
                timed_out = isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException)
                verdict = TIMEOUT if timed_out else "unreachable"
                raise LLMFailure(budget.failed or verdict) from exc
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status != 429 and status < 500:
                    raise LLMFailure(f"server refused ({status})") from exc
                reason = "rate limited (429)" if status == 429 else f"server error ({status})"
                wait = _retry_after(exc) or BACKOFF_S * 2 ** (attempt - 1)
                wait = min(MAX_BACKOFF_S, wait) * (1 + 0.1 * random.random())
                if attempt >= MAX_ATTEMPTS or wait + MIN_ATTEMPT_S > budget.left():
                    raise LLMFailure(reason) from exc
                log.info("llm retry", extra={"reason": reason, "wait_s": round(wait, 2)})
                time.sleep(wait)
            except openai.APIError as exc:  # an error event in a stream, an invalid body
                raise LLMFailure(budget.failed or "malformed reply") from exc

    def _request(self, messages: list[dict[str, str]], timeout: float, budget: Budget) -> str:
        args: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "max_tokens": self.config.max_tokens,
            "temperature": self.config.temperature,
            "timeout": timeout,
        }
        if self.config.stream:
            return self._streamed(args, budget)
        # a whole reply arrives at once: there is no first token to wait for, only the
        # connection (bounded by the first-token budget) and then the answer deadline
        budget.first_token_by = None
        raw = self._client.chat.completions.with_raw_response.create(**args)
        if "text/event-stream" in (raw.headers.get("content-type") or ""):
            return _reply_text(*_sse_text(raw.http_response.text))  # streamed unasked
        try:
            completion = raw.parse()
        except (ValueError, TypeError, AttributeError) as exc:
            raise LLMFailure("malformed reply") from exc
        return _completion_text(completion)

    def _streamed(self, args: dict[str, Any], budget: Budget) -> str:
        parts: list[str] = []
        finish: str | None = None
        try:
            stream = self._client.chat.completions.create(**args, stream=True)
            if "text/event-stream" not in (stream.response.headers.get("content-type") or ""):
                # a server that ignores `stream`: its whole reply is one JSON body
                with stream:
                    body = stream.response.read()
                budget.first_token_by = None
                return _completion_text(ChatCompletion.model_validate_json(body))
            with stream:
                for chunk in stream:
                    for choice in chunk.choices or []:
                        if choice.delta and choice.delta.content:
                            parts.append(choice.delta.content)
                            budget.started()  # the model answers: the total deadline now
                        if getattr(choice.delta, "refusal", None):
                            raise LLMFailure("refusal")
                        finish = choice.finish_reason or finish
                    if budget.left() <= 0:
                        raise LLMFailure(TIMEOUT)
        except (ValueError, TypeError, AttributeError) as exc:
            raise LLMFailure("malformed reply") from exc
        return _reply_text("".join(parts), finish)

    def ping(self, timeout_s: float = 3.0) -> tuple[bool, str]:
        """Whether the server answers `GET /models` (for `askdesk status`), and a short detail:
        the models it lists, or why not."""
        try:
            models = self._client.with_options(timeout=timeout_s, max_retries=0).models.list()
            names = [m.id for m in models.data]
        except openai.APIStatusError as exc:
            return False, f"HTTP {exc.status_code}"
        except openai.APITimeoutError:
            return False, "timeout"
        except openai.APIConnectionError:
            return False, "unreachable"
        except Exception as exc:  # a server that answers something else
            return False, f"unexpected reply ({type(exc).__name__})"
        listed = self.config.model in names
        detail = "model listed" if listed else f"model {self.config.model!r} not listed"
        return True, detail


def _completion_text(completion: ChatCompletion) -> str:
    try:
        choice = completion.choices[0]
    except (TypeError, AttributeError, IndexError) as exc:
        raise LLMFailure("malformed reply") from exc
    message = choice.message
    if getattr(message, "refusal", None):
        raise LLMFailure("refusal")
    return _reply_text(message.content, choice.finish_reason)


def _reply_text(content: str | None, finish: str | None) -> str:
    if finish == "content_filter":
        raise LLMFailure("refusal")
    if not content or not content.strip():
        raise LLMFailure("empty reply")
    return content


def _sse_text(body: str) -> tuple[str, str | None]:
    """Content and finish reason of a Server-Sent Events body (a server that streamed though
    the request did not ask)."""
    parts: list[str] = []
    finish: str | None = None
    for line in body.splitlines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            chunk = json.loads(data)
            for choice in chunk.get("choices") or []:
                parts.append((choice.get("delta") or {}).get("content") or "")
                finish = choice.get("finish_reason") or finish
        except (ValueError, AttributeError) as exc:
            raise LLMFailure("malformed reply") from exc
    return "".join(parts), finish


def _retry_after(exc: openai.APIStatusError) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return float(value) if value else None
    except (ValueError, AttributeError):
        return None


def _counts(result: CheckResult) -> dict[str, int]:
    return {"claims": result.claims, "bad_citations": result.errors}


# -- the prompt ------------------------------------------------------------------------------
def unsure(extractive: Composition) -> bool:
    """Whether the model's checked answer is given hedged: the same decision the quote goes
    through says the closest passage is below the hedge point (or would be declined: the
    model's own answer is not gated by the decision, so it is hedged, never declined by it)."""
    d = extractive.decision
    return d is not None and (d.hedged or not d.answer)


def select_passages(
    hits: Sequence[SearchHit], *, docs: int = MAX_PASSAGES, chars: int = PASSAGE_CHARS
) -> list[Passage]:
    """One passage per document, in the search's order: its retrieved chunks (hits and the
    neighbours `Searcher.context` added) in document order, the overlap chunking repeats
    removed, cut to `chars`. These are the chunks the extractive composer chooses among."""
    ranked = [h for h in hits if not h.neighbour]
    order: list[str] = []
    for h in ranked:
        if h.doc_id not in order and len(order) < docs:
            order.append(h.doc_id)
    out: list[Passage] = []
    for doc_id in order:
        chunks = sorted({h.ordinal: h for h in hits if h.doc_id == doc_id}.values(), key=_ord)
        best = next(h for h in ranked if h.doc_id == doc_id)
        text = ""
        heading = None
        for h in chunks:
            body = h.text.strip()
            if h.heading and h.heading != heading and h.heading != best.heading:
                body = f"## {h.heading}\n{body}"
            heading = h.heading
            text = _join(text, body)
        if len(text) > chars:
            cut = text[:chars]
            text = cut[: cut.rfind(" ")] + " …" if " " in cut else cut
        out.append(Passage(len(out) + 1, best, text))
    return out


def _ord(h: SearchHit) -> int:
    return h.ordinal


def _join(text: str, body: str) -> str:
    """Append a chunk, without the sentences it repeats from the previous one."""
    if not text:
        return body
    for k in range(min(len(body), 1200), 14, -1):
        if (k == len(body) or body[k].isspace()) and text.endswith(body[:k]):
            return f"{text}{body[k:]}" if body[k:].strip() else text
    return f"{text}\n\n{body}"


def build_messages(question: Question, passages: Sequence[Passage]) -> list[dict[str, str]]:
    """System rules, the thread's earlier turns, then the passages and the question."""
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for turn in question.history[-HISTORY_TURNS:]:
        messages.append({"role": "user", "content": turn.question[:HISTORY_CHARS]})
        messages.append({"role": "assistant", "content": turn.answer[:HISTORY_CHARS]})
    blocks = []
    for p in passages:
        head = p.hit.title or p.hit.doc_id
        if p.hit.heading:
            head += f" — {p.hit.heading}"
        blocks.append(f"[{p.n}] {head} ({p.hit.doc_id})\n{p.text}")
    content = "Passages:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question.text}"
    messages.append({"role": "user", "content": content})
    return messages


def build_llm_composer(settings: LLMSettings, fallback: ExtractiveComposer) -> LLMComposer:
    """The composer for `answer_backend = "llm"`, from its settings block
    (askdesk.core.llm_settings; the caller passes `settings.block(LLMSettings)`, never the whole
    settings)."""
    key = settings.llm_api_key
    config = LLMConfig(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=(key.get_secret_value() if key is not None else None) or None,
        timeout_s=settings.llm_timeout_s,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        stream=settings.llm_stream,
        first_token_s=settings.llm_first_token_s,
        max_reply_bytes=settings.llm_max_reply_bytes,
    )
    return LLMComposer(config, fallback)
