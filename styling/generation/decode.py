"""Greedy decoding for the rewriter: a cached prompt prefix, lookup from the draft and the
voice's frame lines, and one forward pass per accepted run of tokens.

Why our own loop and not `model.generate`: on this CPU a 135M model spends ~40 ms per forward
pass whether it scores one token or eleven (the weights are read once per pass), so the speed
of a rewrite is the number of passes. `generate` with prompt lookup already guesses the next
tokens from the draft; this loop also guesses from the voice's own fixed lines (the opener and
sign-offs learned from the examples, which never occur in the draft), reuses the key/value
cache of the fixed prompt prefix (system line and the template up to the draft) across units
and answers, and applies the placeholder constraint and the stop rules per verified token.

The output is the greedy one: a guessed token is kept only if it is the token greedy decoding
(after the constraint) picks at that position, so guesses change the speed, never the text
(up to float rounding between a one-token and a many-token pass, as with `generate`'s own
prompt lookup).
"""

from __future__ import annotations

import copy
import functools
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from askdesk.styling.generation.opener import choose

#: Scores one position: (generated ids so far, logits row) -> logits row.
Processor = Callable[[list[int], Any], Any]
#: Decides after each accepted token: (generated ids so far) -> stop reason or None.
Stop = Callable[[list[int]], str | None]


@dataclass
class PrefixCache:
    """The key/value cache of a fixed token prefix, computed once and copied per use."""

    ids: list[int]
    cache: Any = None

    def build(self, model: Any) -> PrefixCache:
        import torch  # optional: torch (askdesk[style])

        if self.cache is None and self.ids:
            with torch.inference_mode():
                self.cache = _cache_of(model(torch.tensor([self.ids]), use_cache=True))
        return self

    def fresh(self) -> Any:
        """A private copy: decoding appends to it, the shared one must stay the prefix."""
        return copy.deepcopy(self.cache) if self.cache is not None else None


@dataclass
class Decoded:
    """What one decoding produced: the new ids, why it stopped, passes and guesses used."""

    ids: list[int]
    stopped: str  # "end" | "max_tokens" | "deadline" | a Stop's reason
    passes: int = 0
    guessed: int = 0  # tokens accepted from lookup (each saved one pass)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class Lookup:
    """Next-token guesses: the continuation of the latest match of the last n ids (n = 3, 2,
    1) in the sources, longest match first; the draft first, then the frame lines."""

    def __init__(self, sources: Sequence[Sequence[int]], width: int = 10) -> None:
        self.sources = [list(s) for s in sources if s]
        self.width = width

    def guess(self, context: Sequence[int]) -> list[int]:
        if not self.width:
            return []
        for n in (3, 2, 1):
            if len(context) < n:
                continue
            tail = list(context[-n:])
            for src in self.sources:
                for i in range(len(src) - n, -1, -1):
                    if src[i : i + n] == tail and i + n < len(src):
                        return src[i + n : i + n + self.width]
        return []


def decode(
    model: Any,
    prompt_ids: Sequence[int],
    *,
    prefix: PrefixCache | None,
    end_ids: Sequence[int],
    max_new_tokens: int,
    lookup: Lookup | None = None,
    processor: Processor | None = None,
    stops: Sequence[Stop] = (),
    deadline: float = float("inf"),
    choices: Sequence[Sequence[int]] = (),
    offsets: Sequence[float] = (),
) -> Decoded:
    """Greedy continuation of `prompt_ids` (which start with `prefix.ids` when a prefix is
    given). Stops at an end id, `max_new_tokens`, a Stop, or `deadline` (a
    time.perf_counter() value).

    With `choices` (the voice's openers), the answer starts with the one whose tokens the
    model finds likeliest after the prompt, plus its offset (askdesk.styling.generation.opener
    calibrates the offsets on the examples); `extra["choice"]` says which. Greedy decoding
    would decide on the one token where they differ, with no regard for what the examples
    say."""
    import torch  # optional: torch (askdesk[style])

    t0 = time.perf_counter()
    prompt = list(prompt_ids)
    out: list[int] = []
    passes = guessed = 0
    extra: dict[str, Any] = {}
    why: str | None = None
    kw = _cache_kw(type(model))
    with torch.inference_mode():
        cache, row = prefill(model, prompt, prefix)
        passes = 1
        if choices:
            scores = continuation_scores(model, cache, row, choices)
            passes += sum(len(c) > 1 for c in choices)
            best = choose(scores, offsets)
            extra.update(choice=best, choice_scores=scores)
            out.extend(choices[best])
            res = model(torch.tensor([list(choices[best])]), use_cache=True, **{kw: cache})
            cache, passes = _cache_of(res), passes + 1
            row = res.logits[0, -1]
        while True:
            nxt = _pick(row, out, processor)
            out.append(nxt)
            why = _stopped(nxt, out, end_ids, stops, max_new_tokens, deadline)
            if why:
                break
            guesses = lookup.guess(prompt + out) if lookup else []
            res = model(torch.tensor([[nxt, *guesses]]), use_cache=True, **{kw: cache})
            cache = _cache_of(res)
            passes += 1
            kept = 0
            for i, g in enumerate(guesses):
                if _pick(res.logits[0, i], out, processor) != g:
                    break
                out.append(g)
                kept += 1
                why = _stopped(g, out, end_ids, stops, max_new_tokens, deadline)
                if why:
                    break
            guessed += kept
            if why:
                break
            if kept < len(guesses):  # drop the rejected guesses' keys and values
                cache.crop(kept - len(guesses))
            row = res.logits[0, kept]
    if why == "end":
        out = out[:-1]
    return Decoded(out, why or "end", passes, guessed, time.perf_counter() - t0, extra)


def prefill(model: Any, prompt: Sequence[int], prefix: PrefixCache | None) -> tuple[Any, Any]:
    """(cache, logits of the next token) after `prompt`, starting from a copy of the prefix's
    cache when the prompt starts with it. Call under torch.inference_mode()."""
    import torch  # optional: torch (askdesk[style])

    prompt = list(prompt)
    cache, start = None, 0
    if prefix is not None and prefix.cache is not None and prompt[: len(prefix.ids)] == prefix.ids:
        cache, start = prefix.fresh(), len(prefix.ids)
    kw = _cache_kw(type(model))
    res = model(torch.tensor([prompt[start:]]), use_cache=True, **{kw: cache})
    return _cache_of(res), res.logits[0, -1]


def continuation_scores(
    model: Any, cache: Any, row: Any, choices: Sequence[Sequence[int]]
) -> list[float]:
    """Log-probability of each token sequence right after the cached prompt, whose last
    logits are `row`; the cache is left as it was."""
    import torch  # optional: torch (askdesk[style])

    kw = _cache_kw(type(model))
    first = torch.log_softmax(row.float(), -1)
    scores = []
    for ids in choices:
        lp = float(first[ids[0]])
        if len(ids) > 1:
            res = model(torch.tensor([list(ids[:-1])]), use_cache=True, **{kw: cache})
            logp = torch.log_softmax(res.logits[0].float(), -1)
            lp += float(sum(logp[i, t] for i, t in enumerate(ids[1:])))
            cache.crop(1 - len(ids))
        scores.append(lp)
    return scores


@functools.cache
def _cache_kw(model_class: type) -> str:
    """The name this transformers gives the cache argument (`cache` since 5.x)."""
    params = inspect.signature(model_class.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _cache_of(output: Any) -> Any:
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values


def _pick(row: Any, out: list[int], processor: Processor | None) -> int:
    if processor is not None:
        row = processor(out, row)
    return int(row.argmax())


def _stopped(
    token: int,
    out: list[int],
    end_ids: Sequence[int],
    stops: Sequence[Stop],
    max_new_tokens: int,
    deadline: float,
) -> str | None:
    if token in end_ids:
        return "end"
    for stop in stops:
        why = stop(out)
        if why:
            return why
    if len(out) >= max_new_tokens:
        return "max_tokens"
    if time.perf_counter() > deadline:
        return "deadline"
    return None
