"""The voice's frame, learned from the examples: its opener and sign-off lines, how long its
sentences get, and the words it uses.

A team's voice is mostly its body text, which the model learns; but its fixed lines (an
opener such as "Hey there! 👋", sign-offs) and its sentence length are regular enough to read
straight off the examples. The rewriter uses them three ways:

- decoding guesses the fixed lines (they never occur in the draft, so prompt lookup alone
  cannot), which saves a model pass per token of them;
- units are rewritten separately, so each unit's opener and sign-off are taken off its
  output and the answer gets one of each: the first unit's opener and the last one's sign-off
  (or, if the model left one out, the line the examples pair with the other);
- the guard refuses a rewrite that brings in a word found neither in the draft nor in the
  examples' answers (a 135M model invents plausible nonsense such as "Wirespaces fail").

Stored in the version's style.json under "frame", so a version carries its own.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from askdesk.styling.tone.voice import sentence_lengths

#: A line is a frame line if at least this share of the examples start (or end) with it.
MIN_SHARE = 0.03
MIN_COUNT = 3
#: Below this many examples the frame keeps no vocabulary or sentence limit: a word missing
#: from 20 answers says nothing, and neither does their longest sentence.
MIN_EXAMPLES = 50
#: A rewrite's sentence must take at least this share of its content words from the draft.
MIN_SUPPORT = 0.5
#: English function words: rewording may bring them in whatever the examples said.
_COMMON_WORDS = (
    "about after again also although any are because been before being both but can could "
    "did does doing done each either even ever every few from had has have having her here "
    "him his how however into its itself just less more most much must neither nor not now "
    "off once only other our out over own same she should since some such than that their "
    "them then there these they this those though through too under until upon very was "
    "were what whatever when where whether which while who whom whose why will with within "
    "without would yet you your yours"
)
_WORD = re.compile(r"[^\W\d_]{3,}(?:'[^\W\d_]+)?")


@dataclass(frozen=True)
class Frame:
    openers: tuple[str, ...] = ()  # most frequent first
    sign_offs: tuple[str, ...] = ()
    pairs: Mapping[str, tuple[str, ...]] | None = None  # opener -> sign-offs seen with it
    max_sentence_words: int | None = None
    words: frozenset[str] = frozenset()  # the examples' answers' words, lower case
    # askdesk.styling.generation.opener, calibrated after training
    opener_offsets: tuple[float, ...] = ()

    @classmethod
    def learn(cls, outputs: Sequence[str]) -> Frame:
        """The frame of a set of example answers (the training split's)."""
        firsts = Counter(_lines(o)[0] for o in outputs if _lines(o))
        lasts = Counter(_lines(o)[-1] for o in outputs if _lines(o))
        need = max(MIN_COUNT, int(MIN_SHARE * len(outputs)))
        openers = tuple(line for line, n in firsts.most_common() if n >= need)
        sign_offs = tuple(line for line, n in lasts.most_common() if n >= need)
        pairs: dict[str, tuple[str, ...]] = {}
        for opener in openers:
            ends = Counter(_lines(o)[-1] for o in outputs if _lines(o) and _lines(o)[0] == opener)
            seen = tuple(line for line, _ in ends.most_common() if line in sign_offs)
            if seen:
                pairs[opener] = seen
        if len(outputs) < MIN_EXAMPLES:  # too few to say which words or lengths are foreign
            return cls(openers, sign_offs, pairs)
        frame = cls(openers, sign_offs, pairs)
        lengths = [n for o in outputs for n in sentence_lengths(frame.parts(o)[1]) if n]
        limit = _quantile(lengths, 0.98) if lengths else None
        words = frozenset(w.lower() for o in outputs for w in _WORD.findall(o))
        return cls(openers, sign_offs, pairs, limit, words)

    def to_json(self) -> dict[str, Any]:
        return {
            "openers": list(self.openers),
            "sign_offs": list(self.sign_offs),
            "pairs": {k: list(v) for k, v in (self.pairs or {}).items()},
            "max_sentence_words": self.max_sentence_words,
            "words": sorted(self.words),
            "opener_offsets": list(self.opener_offsets),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Frame:
        if not data:
            return cls()
        return cls(
            tuple(data.get("openers") or ()),
            tuple(data.get("sign_offs") or ()),
            {k: tuple(v) for k, v in (data.get("pairs") or {}).items()},
            data.get("max_sentence_words"),
            frozenset(data.get("words") or ()),
            tuple(data.get("opener_offsets") or ()),
        )

    def parts(self, text: str) -> tuple[str | None, str, str | None]:
        """(opener, body, sign-off) of one output; a part not present is None."""
        lines = text.strip().split("\n")
        opener = sign_off = None
        if lines and lines[0].strip() in self.openers:
            opener = lines.pop(0).strip()
        if lines and lines[-1].strip() in self.sign_offs:
            sign_off = lines.pop().strip()
        return opener, "\n".join(lines).strip(), sign_off

    def sign_off_for(self, opener: str | None) -> str | None:
        """The sign-off the examples use most with `opener` (the most common one without)."""
        if opener and self.pairs and self.pairs.get(opener):
            return self.pairs[opener][0]
        return self.sign_offs[0] if self.sign_offs else None

    def opener_for(self, sign_off: str | None) -> str | None:
        for opener, ends in (self.pairs or {}).items():
            if sign_off in ends:
                return opener
        return self.openers[0] if self.openers else None

    def pairs_with(self, opener: str | None, sign_off: str) -> bool:
        """Whether some example ends with `sign_off` after starting with `opener` (a
        cautionary opener must not get a cheerful sign-off)."""
        if not opener or not self.pairs or opener not in self.pairs:
            return True
        return sign_off in self.pairs[opener]

    def unsupported(self, sentence: str, draft: str) -> bool:
        """Whether a sentence of a rewrite says something the draft does not: under half of
        its content words are the draft's. Short lead-ins and questions ("Here's how:",
        "Seeing server errors?") are the voice's own devices and pass; on the sample's 213
        training pairs this flags 1 in 100 of the examples' own sentences."""
        words = {stem(w) for w in _WORD.findall(sentence)} - _COMMON - _FILLER
        if not words or not self.words:  # no vocabulary (too few examples): no judgement
            return False
        if sentence.rstrip(" *").endswith((":", "?")) and len(sentence.split()) <= 8:
            return False
        have = {stem(w) for w in _WORD.findall(draft)}
        return len(words & have) / len(words) < MIN_SUPPORT

    @cached_property
    def _stems(self) -> frozenset[str]:
        return frozenset(stem(w) for w in self.words)

    def lines(self) -> list[str]:
        return [*self.openers, *self.sign_offs]

    def novel_words(self, output: str, draft: str) -> list[str]:
        """Words of `output` found neither in `draft` nor in the examples' answers."""
        if not self.words:
            return []
        known = self._stems | _COMMON | {stem(w) for w in _WORD.findall(draft)}
        out: list[str] = []
        for w in _WORD.findall(output):
            if stem(w) not in known and w not in out:
                out.append(w)
        return out


def stem(word: str) -> str:
    """A crude stem so "events"/"event" and "rotated"/"rotate" match; good enough to tell a
    reworded sentence from a made-up word."""
    w = word.lower().replace("’", "'")
    if "'" in w:  # they'll, they've, can't: the word before the contraction
        w = w.split("'")[0]
        w = w[:-1] if w.endswith("n") and w not in ("on", "in", "an") and len(w) > 3 else w
    for suffix in ("ing", "ies", "ed", "es", "s", "ly"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    return w.rstrip("e")


_COMMON = frozenset(stem(w) for w in _COMMON_WORDS.split())
#: Words the voice adds around any fact ("Here's", "just", "quick"): not a claim.
_FILLER_WORDS = (
    "here's that's it's there's let's you'll we'll please just quick right away good sure also"
)
_FILLER = frozenset(stem(w) for w in _FILLER_WORDS.split())


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.strip().split("\n") if ln.strip()]


def _quantile(values: Iterable[int], q: float) -> int:
    ordered = sorted(values)
    if len(ordered) < 2:
        return ordered[0] if ordered else 0
    return round(statistics.quantiles(ordered, n=100)[int(q * 100) - 1])
