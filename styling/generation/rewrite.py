"""The style rewriter: a fine-tuned version folder applied to grounded drafts, facts guarded.

Facts are protected by construction: the model only ever sees the draft with each number,
URL, code span, citation and product term replaced by `<F1>`, `<F2>`, ... (which also
shortens the sequence), decoding cannot drop, repeat or invent one
(askdesk.styling.generation.constrained), and the output is restored and guarded by `check_rewrite`.

Speed and sureness come from rewriting in units (askdesk.styling.generation.units): prose a
paragraph or a few sentences at a time, code, lists and tables passed through. Each unit is decoded
by our own greedy loop (askdesk.styling.generation.decode): the prompt prefix's key/value cache is
computed once per rewriter, one forward pass verifies up to `prompt_lookup` tokens guessed
from the draft and from the voice's frame lines, the opener is chosen by calibrated
likelihood (askdesk.styling.generation.opener), and the unit stops at its sign-off. A unit that
loops or fails the guard is retried sentence by sentence, greedily again (the same draft always
gets the same answer; the seeded-sampling retries this replaced made the demo differ between
runs and the p95 latency 12 s); what still fails keeps its drafted words. Running out of the
time budget or a model error keeps the whole draft: `(None, reason)`, and the answer core
records the reason.

Measured levers (bench/style_model.py, BENCHMARKS.md): dynamic int8 destroyed quality, bf16 is
slow on this AVX2-only CPU, and torch.compile saved ~10% per token for a 2-minute compile, so
none is used.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from askdesk.styling.generation.citations import attach_lone_citations, misplaced_citations
from askdesk.styling.generation.constrained import PlaceholderConstraint, VocabClasses
from askdesk.styling.generation.decode import (
    Decoded,
    Lookup,
    PrefixCache,
    continuation_scores,
    decode,
    prefill,
)
from askdesk.styling.generation.frame import Frame
from askdesk.styling.generation.opener import choose
from askdesk.styling.generation.sentence_length import SentenceLengthBias
from askdesk.styling.generation.split_sentences import split_long
from askdesk.styling.generation.stops import (
    REPETITION,
    loop_stop,
    repeated_line,
    repeated_sentence,
    sign_off_stop,
)
from askdesk.styling.generation.units import (
    LIST_ITEM,
    MAX_UNIT_WORDS,
    Block,
    join,
    line_sentences,
    sentence_split,
    trailing_citations,
    units,
)
from askdesk.styling.guards.fact_patterns import DEFAULT_PRODUCT_TERMS
from askdesk.styling.guards.facts import check_rewrite, guard
from askdesk.styling.guards.passthrough import passthrough_reason
from askdesk.styling.guards.placeholders import PLACEHOLDER, protect
from askdesk.styling.model.prompt import prompt_text
from askdesk.styling.model.version import load_version, read_style

REWRITTEN = "rewritten"
_TAG = re.compile(r"<(?!F\d+>)[^<>\n]{0,12}>")
TIMEOUT = "timeout"
RETRY_TIME = "kept as drafted: no time left to retry it"
#: A failing one-sentence unit is retried in halves if it is longer than this.
RETRY_SPLIT_WORDS = 10


@dataclass(frozen=True)
class RewriteResult:
    """`text` is None when the draft should stand; `output` is what the model wrote
    (restored when the guard passed, with placeholders otherwise)."""

    text: str | None
    note: str
    output: str
    seconds: float
    attempts: int = 1  # model generations run (one per prose unit reached)
    units: int = 0  # prose units the draft was cut into
    units_kept: tuple[str, ...] = ()  # why each unit that kept its drafted words did
    passes: int = 0  # model forward passes, all units
    tokens: int = 0  # tokens generated, all units


@dataclass(frozen=True)
class UnitResult:
    body: str | None  # the styled unit without opener and sign-off, facts restored
    note: str
    output: str
    opener: str | None = None
    sign_off: str | None = None
    passes: int = 0
    tokens: int = 0
    kept: tuple[str, ...] = ()  # why parts of it kept their drafted words (sentence retry)
    opener_index: int | None = None  # which of the frame's openers the model started with


class StyleRewriter:
    """Implements askdesk.core.ports.Rewriter for one trained version folder.

    The model loads on first use (or `load()`), so building an engine stays cheap. One
    generation at a time per rewriter (a lock): torch already uses every thread it is given.
    """

    def __init__(
        self,
        model_dir: str | Path,
        *,
        time_budget_s: float = 20.0,
        max_new_tokens: int | None = None,
        threads: int | None = None,
        product_terms: tuple[str, ...] | None = None,
        prompt_lookup: int = 10,
        constrain: bool = True,
        base_cache: Path | None = None,
        max_unit_words: int = MAX_UNIT_WORDS,
        sentence_bias: bool = True,
        retry_within_s: float = 5.0,
    ) -> None:
        self.model_dir = Path(model_dir).expanduser().absolute()
        self.base_cache = base_cache  # where the packaged base model is converted (data dir)
        self.version: str | None = self.model_dir.name
        self.time_budget_s = time_budget_s
        self.max_new_tokens = max_new_tokens
        self.threads = threads
        self.prompt_lookup = prompt_lookup
        self.constrain = constrain
        self.max_unit_words = max_unit_words
        self.sentence_bias = sentence_bias
        # a failing unit is retried sentence by sentence only until this many seconds into
        # the rewrite; later, its sentences keep their drafted words (p95 latency)
        self.retry_within_s = retry_within_s
        self._vocab: Any = None
        style = read_style(self.model_dir)
        self.style = style
        self.frame = Frame.from_json(style.get("frame"))
        self.product_terms = tuple(
            product_terms or style.get("product_terms") or DEFAULT_PRODUCT_TERMS
        )
        self._model: Any = None
        self._tok: Any = None
        self._prefix: PrefixCache | None = None
        self._frame_ids: list[list[int]] = []
        self._opener_ids: list[list[int]] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def load(self) -> StyleRewriter:
        """Load the model now (LoRA versions are merged into their base once, here), with
        what every rewrite reuses: the prompt prefix's cache and the frame lines' ids."""
        if self._model is None:
            model, tok = load_version(self.model_dir, self.style, self.threads, self.base_cache)
            if self.constrain:  # ~0.3 s over the vocabulary: at load, not in the first answer
                self._vocab = VocabClasses.of(tok)
            self._prefix = PrefixCache(_prefix_ids(tok)).build(model)
            end = _end_ids(tok)[-1:]
            self._opener_ids = [_ids(tok, line) for line in self.frame.openers]
            self._frame_ids = [  # tokenised as inside an answer ("\n\n" before text is 2 ids)
                *(_ids_before(tok, f"{line}\n\n", "Then") for line in self.frame.openers),
                *(_ids_before(tok, f"\n\n{line}", "") + end for line in self.frame.sign_offs),
            ]
            self._model, self._tok = model, tok
        return self

    def rewrite(self, draft: str, question: Any = None) -> tuple[str | None, str | None]:
        """(styled text, "rewritten") or (None, why the draft should stand)."""
        result = self.rewrite_detail(draft)
        return result.text, result.note

    def rewrite_detail(self, draft: str) -> RewriteResult:
        """The rewrite with what an evaluation needs: raw model output, note, seconds.

        The draft is cut into units (askdesk.styling.generation.units): prose units are rewritten
        one at a time, code, lists and tables pass through as written. A unit whose rewrite fails
        the guard or loops keeps its drafted words; the answer is a rewrite if at least one unit is,
        framed by one opener and one sign-off. Running out of time keeps the whole draft."""
        t0 = time.perf_counter()
        try:
            protected = protect(draft, self.product_terms)
        except ValueError as exc:
            return RewriteResult(None, f"placeholders: {exc}", "", time.perf_counter() - t0)
        skip = passthrough_reason(draft, len(protected.counts))
        if skip is not None:  # outside what the voice was trained on: not worth the budget
            return RewriteResult(None, skip, "", time.perf_counter() - t0, 0)
        # the budget is for rewriting: loading the model (once, seconds on a busy machine)
        # must not eat it, so the clock starts when the model is there
        self.load()
        t0 = time.perf_counter()
        deadline = t0 + self.time_budget_s
        # a version without a learned frame (trained before frames existed, or on fewer than
        # MIN_COUNT examples of an opener) cannot have its units' openers taken off: one unit
        frameless = not (self.frame.openers or self.frame.sign_offs)
        parts = [Block(draft.strip(), "prose")] if frameless else units(draft, self.max_unit_words)
        prose = sum(u.prose for u in parts)
        done: list[UnitResult | None] = []
        pick: int | None = None
        for block in parts:
            if not block.prose:
                done.append(None)
                continue
            unit = self._unit_or_sentences(block.text, deadline, t0 + self.retry_within_s, pick)
            done.append(unit)
            if pick is None and unit.body is not None:
                pick = unit.opener_index  # later units start like the first styled one
            if unit.note in (TIMEOUT,) or unit.note.startswith("model error"):
                return self._result(None, unit.note, done, t0, prose)
        styled = [u for u in done if u is not None and u.body is not None]
        if not prose and self.frame.openers:  # only lists and code: framed, not reworded
            try:
                styled = [self._frame_only(protected.text)]
            except Exception as exc:
                return self._result(None, f"model error: {type(exc).__name__}", done, t0, 0)
        elif not styled:
            first = next((u for u in done if u is not None), None)
            note = first.note if first else "passed through: no prose to restyle"
            return self._result(None, note, done, t0, prose)
        opener = next((u.opener for u in styled if u.opener), None)
        sign_off = next((u.sign_off for u in reversed(styled) if u.sign_off), None)
        if sign_off is not None and not self.frame.pairs_with(opener, sign_off):
            sign_off = None
        opener = opener or self.frame.opener_for(sign_off)
        sign_off = sign_off or self.frame.sign_off_for(opener)
        body = [
            self._passed(block.text)
            if u is None
            else (u.body if u.body is not None else self._as_drafted(block.text))
            for block, u in zip(parts, done, strict=True)
        ]
        text = join([opener or "", *body, sign_off or ""])
        final = guard(draft, text, self.product_terms)  # each unit passed; the whole must too
        if not final.ok:
            return self._result(None, f"guard: {final.reason}", done, t0, prose)
        return self._result(text, REWRITTEN, done, t0, prose)

    def _result(
        self, text: str | None, note: str, done: list[UnitResult | None], t0: float, prose: int
    ) -> RewriteResult:
        ran = [u for u in done if u is not None]
        output = "\n\n".join(u.output for u in ran)
        return RewriteResult(
            text,
            _short(note),
            text if text is not None else output,
            time.perf_counter() - t0,
            len(ran),
            prose,
            tuple(k for u in ran for k in ((u.note,) if u.body is None else u.kept)),
            sum(u.passes for u in ran),
            sum(u.tokens for u in ran),
        )

    def _passed(self, text: str) -> str:
        """A block the model skips: a list's long items are still cut at their joints (the
        guard checks the whole answer after this); code and tables stay as written."""
        return self._as_drafted(text) if LIST_ITEM.match(text) else text

    def _as_drafted(self, text: str) -> str:
        """Drafted words kept in a styled answer (a list, a unit or sentence the model did
        not get right), their long sentences cut at the joints the examples cut at."""
        if not self.frame.max_sentence_words:
            return text
        protected = protect(text, self.product_terms)
        return protected.restore(split_long(protected.text, self.frame.max_sentence_words))

    def _unit_or_sentences(
        self, text: str, deadline: float, soft_deadline: float, opener: int | None = None
    ) -> UnitResult:
        """A unit, and if its rewrite loops or fails the guard, each of its sentences on its
        own (greedy again, so the same draft always gets the same answer): a sentence that
        still fails keeps its drafted words, the others are styled."""
        unit = self._unit(text, deadline, opener)
        if opener is None:
            opener = unit.opener_index
        if unit.body is not None or unit.note == TIMEOUT or unit.note.startswith("model error"):
            return unit
        parts = sentence_split(text)
        if len(parts) < 2:  # one long sentence: its halves, cut at a joint ("…, and …")
            parts = sentence_split(split_long(text, RETRY_SPLIT_WORDS))
        soon = min(deadline, soft_deadline)
        if len(parts) < 2 or time.perf_counter() >= soon:
            return unit
        done = []
        for part in parts:
            one = self._unit(part, soon, opener) if time.perf_counter() < soon else None
            if one is None or one.note == TIMEOUT:  # out of retry time: as drafted
                one = UnitResult(None, RETRY_TIME, "")
            elif one.note.startswith("model error"):
                return one
            done.append(one)
        styled = [u for u in done if u.body is not None]
        if not styled:
            return unit
        body = "\n\n".join(
            u.body if u.body is not None else self._as_drafted(part)
            for u, part in zip(done, parts, strict=True)
        )
        return UnitResult(
            body,
            REWRITTEN,
            "\n\n".join(u.output for u in done),
            next((u.opener for u in styled if u.opener), None),
            next((u.sign_off for u in reversed(styled) if u.sign_off), None),
            unit.passes + sum(u.passes for u in done),
            unit.tokens + sum(u.tokens for u in done),
            (unit.note, *(u.note for u in done if u.body is None)),
            opener,
        )

    def _unit(self, text: str, deadline: float, opener: int | None = None) -> UnitResult:
        """One prose unit: protect, generate, take off the frame, cut long sentences,
        restore, guard (facts and made-up words). Its closing citation markers stay out of
        the model and are put back at its end."""
        text, cites = trailing_citations(text)
        try:
            protected = protect(text, self.product_terms)
        except ValueError as exc:
            return UnitResult(None, f"placeholders: {exc}", "")
        left = deadline - time.perf_counter()
        self.last_decode = None
        try:
            output, timed_out = self.generate(
                protected.text, counts=protected.counts, budget_s=left, opener=opener
            )
        except Exception as exc:
            return UnitResult(None, _short(f"model error: {type(exc).__name__}: {exc}"), "")
        stats = self.last_decode
        passes, tokens = (stats.passes, len(stats.ids)) if stats is not None else (0, 0)

        def kept(note: str) -> UnitResult:
            return UnitResult(
                None,
                _short(note),
                output,
                passes=passes,
                tokens=tokens,
                opener_index=self.last_opener,
            )

        if timed_out:
            return kept(TIMEOUT)
        if repeated_line(output) is not None:
            return kept(REPETITION)
        first, body, last = self.frame.parts(output)
        if self.frame.max_sentence_words:
            body = split_long(body, self.frame.max_sentence_words)
        body = attach_lone_citations(protected, body)
        junk = [t for t in _TAG.findall(body) if t not in protected.text]
        if junk:  # "<#>", "<pre>": markup the draft never had
            return kept(f"guard: markup the draft does not have: {', '.join(junk[:3])}")
        if repeated_sentence(body):
            return kept(REPETITION)
        body, dropped = self._drop_unsupported(body, protected.text)
        novel = self.frame.novel_words(body, protected.text)
        if novel:  # in a sentence holding a fact: the sentence cannot go, the unit does
            return kept(f"guard: words in neither the draft nor the examples: {', '.join(novel)}")
        if not body.strip():
            return kept("guard: nothing left after dropping made-up sentences")
        misplaced = misplaced_citations(protected, body)
        if misplaced:  # "[1] disables an endpoint": a marker standing in for a word
            return kept(f"guard: citation {', '.join(misplaced)} moved into a sentence")
        restored, result = check_rewrite(protected, body, self.product_terms)
        if restored is None:
            return kept(f"guard: {result.reason}")
        if cites:
            restored = f"{restored.rstrip()} {cites}"
        notes = (f"dropped unsupported sentences: {'; '.join(dropped)}",) if dropped else ()
        return UnitResult(
            restored, REWRITTEN, output, first, last, passes, tokens, notes, self.last_opener
        )

    def _drop_unsupported(self, body: str, draft: str) -> tuple[str, list[str]]:
        """`body` without the sentences the draft does not support, when they hold no fact:
        one with a word found neither in the draft nor in the examples ("Wireshark shows a
        network failure"), or whose content words are mostly not the draft's ("So you can
        have them run every time"). Like the LLM composer's claim check, an unsupported
        sentence goes and the rest stays; the fact guard then checks that no fact went with
        it. Returns the body and what was dropped (the made-up words, or "unsupported")."""
        dropped: list[str] = []
        lines = []
        for line in body.split("\n"):
            kept_parts = []
            for sentence in line_sentences(line):
                if PLACEHOLDER.search(sentence):
                    kept_parts.append(sentence)
                    continue
                novel = self.frame.novel_words(sentence, draft)
                if novel:
                    dropped.extend(w for w in novel if w not in dropped)
                elif self.frame.unsupported(sentence, draft):
                    dropped.append(f"unsupported: {sentence[:60]!r}")
                else:
                    kept_parts.append(sentence)
            text = " ".join(kept_parts).rstrip()
            if kept_parts or not line.strip():
                lines.append(text if not LIST_ITEM.fullmatch(text + " ") else "")
        cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
        return cleaned, dropped

    def _frame_only(self, protected_text: str) -> UnitResult:
        """The opener for a draft whose blocks all pass through: the calibrated choice
        after the draft (one prefill and the openers scored, no generation)."""
        scores = self.opener_scores(protected_text)
        best = choose(scores, self.frame.opener_offsets)
        return UnitResult("", REWRITTEN, self.frame.openers[best], self.frame.openers[best])

    def opener_input(self, draft: str) -> str:
        """What the model sees when it chooses the opener: the first prose unit without its
        closing citations, protected (the whole protected draft when it has no prose)."""
        first = next((u.text for u in units(draft, self.max_unit_words) if u.prose), None)
        if first is None:
            return protect(draft, self.product_terms).text
        return protect(trailing_citations(first)[0], self.product_terms).text

    def opener_scores(self, protected_text: str) -> list[float]:
        """Log-probability of each of the frame's openers as the start of the answer."""
        import torch  # optional: torch (askdesk[style])

        self.load()
        prompt = _ids(self._tok, prompt_text(self._tok, protected_text))
        with self._lock, torch.inference_mode():
            cache, row = prefill(self._model, prompt, self._prefix)
            return continuation_scores(self._model, cache, row, self._opener_ids)

    def plain_generate(self, text: str) -> str:
        """The baseline the rewriter is measured against: transformers' own greedy
        `generate` on the unprotected draft, no cache reuse, guesses, constraint or stops
        but the end of turn."""
        import torch  # optional: torch (askdesk[style])

        self.load()
        tok, model = self._tok, self._model
        enc = tok(prompt_text(tok, text), return_tensors="pt", add_special_tokens=False)
        n = enc["input_ids"].shape[1]
        limit = self.max_new_tokens or default_max_new_tokens(len(tok(text)["input_ids"]))
        with self._lock, torch.inference_mode():
            out = model.generate(
                **enc,
                max_new_tokens=limit,
                do_sample=False,
                eos_token_id=_end_ids(tok),
                pad_token_id=tok.pad_token_id,
            )
        return tok.decode(out[0, n:], skip_special_tokens=True).strip()

    # what the last `generate` of *this thread* decoded: rewrites of several answers may run
    # at once in a bot (one generation at a time, under the lock, but interleaved units)
    @property
    def last_decode(self) -> Decoded | None:
        return getattr(self._local, "decode", None)

    @last_decode.setter
    def last_decode(self, value: Decoded | None) -> None:
        self._local.decode = value

    @property
    def last_opener(self) -> int | None:
        return getattr(self._local, "opener", None)

    @last_opener.setter
    def last_opener(self, value: int | None) -> None:
        self._local.opener = value

    def generate(
        self,
        text: str,
        *,
        budget_s: float | None = None,
        counts: Mapping[str, int] | None = None,
        prompt_lookup: int | None = None,
        opener: int | None = None,
    ) -> tuple[str, bool]:
        """Greedy generation for one (already protected) unit: (output, ran out of time).

        With `counts` (placeholder -> uses in the draft) and `constrain`, decoding cannot
        drop, repeat or invent a placeholder (askdesk.styling.generation.constrained), and stops at
        the first repeated line (a model kept from ending while a fact is missing tends to
        repeat its sign-off). Guesses come from the prompt and the frame lines
        (askdesk.styling.generation.decode)."""
        self.load()
        tok, model = self._tok, self._model
        prompt = tok(prompt_text(tok, text), add_special_tokens=False)["input_ids"]
        limit = self.max_new_tokens or default_max_new_tokens(len(tok(text)["input_ids"]))
        width = self.prompt_lookup if prompt_lookup is None else prompt_lookup
        lookup = Lookup([prompt, *self._frame_ids], width) if width else None
        rules: list[Any] = []
        stops: list[Any] = []
        if counts is not None and self.constrain:  # {}: a unit without facts gets none
            rule = PlaceholderConstraint(tok, self._vocab, counts, len(prompt), _end_ids(tok))
            rules.append(rule.apply)
            stops.append(loop_stop(tok))
        if self.frame.sign_offs:  # the end of a unit, even when a placeholder is missing
            stops.append(sign_off_stop(tok, self.frame.sign_offs))
        if self.frame.max_sentence_words and self.sentence_bias:
            rules.append(SentenceLengthBias(tok, self.frame.max_sentence_words).apply)
        processor = _chain(rules) if rules else None
        budget = self.time_budget_s if budget_s is None else budget_s
        # the answer starts with an opener chosen by calibrated likelihood
        # (askdesk.styling.generation.opener), or the one given (the first unit's, for the units
        # after it)
        choices: list[list[int]] = []
        offsets: tuple[float, ...] = ()
        self.last_opener = None
        if self._opener_ids and counts is not None:
            if opener is None:
                choices, offsets = self._opener_ids, self.frame.opener_offsets
            else:
                choices = [self._opener_ids[opener]]
        with self._lock:
            deadline = time.perf_counter() + budget
            result = decode(
                model,
                prompt,
                prefix=self._prefix,
                end_ids=_end_ids(tok),
                max_new_tokens=limit,
                lookup=lookup,
                processor=processor,
                stops=stops,
                deadline=deadline,
                choices=choices,
                offsets=offsets,
            )
        self.last_decode = result
        if choices:
            pick = result.extra.get("choice", 0)
            self.last_opener = opener if opener is not None else pick
        output = tok.decode(result.ids, skip_special_tokens=True).strip()
        return output, result.stopped == "deadline"


def default_max_new_tokens(draft_tokens: int) -> int:
    """Room for the voice (opener, lists, sign-off) around the draft, but not for a loop."""
    return min(768, int(draft_tokens * 1.6) + 48)


def _chain(rules: list[Any]) -> Any:
    def apply(ids: list[int], scores: Any) -> Any:
        for rule in rules:
            scores = rule(ids, scores)
        return scores

    return apply


def _prefix_ids(tok: Any) -> list[int]:
    """Token ids of the prompt up to the draft (system line, template): the same for every
    unit and answer, so its key/value cache is computed once."""
    marker = "\u2063draft\u2063"
    head = prompt_text(tok, marker).split(marker)[0]
    return tok(head, add_special_tokens=False)["input_ids"]


def _ids(tok: Any, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def _ids_before(tok: Any, text: str, follower: str) -> list[int]:
    """The ids of `text` as tokenised with `follower` after it (in an answer, "\n\n" before
    a word is two newline ids, at the end of a string one merged id)."""
    ids = _ids(tok, text + follower)
    for k in range(len(ids), 0, -1):
        if tok.decode(ids[:k]) == text:
            return ids[:k]
    return _ids(tok, text)


def _end_ids(tok: Any) -> list[int]:
    ids = {tok.eos_token_id}
    end = tok.convert_tokens_to_ids("<|im_end|>")
    if isinstance(end, int) and end != tok.unk_token_id:
        ids.add(end)
    return sorted(i for i in ids if i is not None)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
