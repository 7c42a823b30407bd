"""Placeholders kept by construction at decoding time, not only checked afterwards.

Training with placeholders taught the model to copy `<F1>`, `<F2>`, ... but a 135M model
still drops one, repeats one or makes one up (`<F9>` for a draft with eight) in about half of
the held-out rewrites (BENCHMARKS.md), and each such output falls back to the plain draft.
This logits processor makes those outputs impossible to generate:

- inside a placeholder (`<F`, `<F1`), only digits and a closing `>` that spell a placeholder
  of the draft with uses left are allowed — no unknown numbers, no more uses than the draft;
- right after `<`, an `F` may start a placeholder only while one has uses left, and nothing
  else that looks like one (`<f3>`, `<Foo`) may follow;
- the end of the answer is masked while some placeholder has not been written yet, so the
  model must place it (greedy decoding then picks its best spot, usually where the fact fits).

It reads the decoded text of what was generated so far, so it does not depend on how the
tokenizer splits `<F12>` (SmolLM2: `<`, `F`, `1`, `2`, `>`; merged forms like ` (<` or `>.`
are handled by looking at the token's text). The guard still runs after restoring: this only
removes the failures that can be prevented while decoding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_INSIDE = re.compile(r"<F(\d*)$")
_AFTER_LT = re.compile(r"<$")
_USED = re.compile(r"<F(\d+)>")


@dataclass(frozen=True)
class VocabClasses:
    """Token ids grouped by what their text could do to a placeholder; built once per
    tokenizer (decoding 49k single tokens takes ~0.3 s)."""

    digits: Mapping[int, str]  # token id -> its single digit
    closers: tuple[int, ...]  # tokens whose text starts with ">"
    f_token: tuple[int, ...]  # the bare "F"
    after_lt_banned: tuple[int, ...]  # "f", "Foo", " F", "E": look-alikes after "<"
    opens_inline: tuple[int, ...]  # tokens that contain "<F"/"<f" themselves

    @classmethod
    def of(cls, tokenizer: Any) -> VocabClasses:
        n = len(tokenizer)
        texts = tokenizer.batch_decode([[i] for i in range(n)])
        digits, closers, f_token, banned, inline = {}, [], [], [], []
        for i, t in enumerate(texts):
            if len(t) == 1 and t.isdigit():
                digits[i] = t
            if t.startswith(">"):
                closers.append(i)
            if t == "F":
                f_token.append(i)
            elif re.match(r"\s*[Ff]", t) or re.fullmatch(r"[A-Za-z]", t):
                banned.append(i)
            if re.search(r"<\s*[Ff]", t):
                inline.append(i)
        return cls(digits, tuple(closers), tuple(f_token), tuple(banned), tuple(inline))


class PlaceholderConstraint:
    """A transformers LogitsProcessor for one protected draft (batch size 1).

    `counts` maps each placeholder of the draft ("<F3>") to how often the draft uses it: the
    output must use each at least once and at most that often, which is what
    `Protected.problems` checks afterwards.
    """

    def __init__(
        self,
        tokenizer: Any,
        vocab: VocabClasses,
        counts: Mapping[str, int],
        prompt_length: int,
        end_ids: Sequence[int],
    ) -> None:
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.counts = {int(k[2:-1]): v for k, v in counts.items()}
        self.prompt_length = prompt_length
        self.end_ids = list(end_ids)

    def remaining(self, text: str) -> dict[int, int]:
        """Placeholder number -> uses left, given the text generated so far."""
        left = dict(self.counts)
        for m in _USED.finditer(text):
            n = int(m.group(1))
            if n in left:
                left[n] -= 1
        return left

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        return self.apply(input_ids[0, self.prompt_length :].tolist(), scores)

    def apply(self, generated: list[int], scores: Any) -> Any:
        """`scores` (a [1, vocab] batch or one [vocab] row) masked for what may come after
        the `generated` ids."""
        import torch  # optional: torch (askdesk[style])

        if scores.dim() == 1:
            return self.apply(generated, scores[None])[0]
        text = self.tokenizer.decode(generated, skip_special_tokens=True)
        left = self.remaining(text)
        open_nums = [str(n) for n, k in left.items() if k > 0]
        allowed: list[int] | None = None  # None: everything but the banned below
        banned: list[int] = list(self.vocab.opens_inline)

        inside = _INSIDE.search(text)
        if inside is not None:
            typed = inside.group(1)
            allowed = [
                i
                for i, d in self.vocab.digits.items()
                if any(n.startswith(typed + d) for n in open_nums)
            ]
            if typed and typed in open_nums:
                allowed += self.vocab.closers
            if not allowed:  # cannot happen unless the prompt ended mid-placeholder
                allowed = list(self.end_ids)
        elif _AFTER_LT.search(text):
            banned += self.vocab.after_lt_banned
            if not open_nums:
                banned += self.vocab.f_token
        if any(k == self.counts[n] for n, k in left.items()):  # some not written yet
            banned += self.end_ids

        if allowed is not None:
            mask = torch.full_like(scores, float("-inf"))
            mask[:, allowed] = 0.0
            return scores + mask
        scores = scores.clone()
        scores[:, banned] = float("-inf")
        return scores
