"""Decoding that ends sentences where the voice would, not where the draft did.

A 135M model rewriting a draft copies a long draft sentence whole about a third of the time,
while the voice's examples stay under ~16 words a sentence (`Frame.max_sentence_words`). This
logits processor nudges the model to end a sentence once it runs long, but only at a point
the model itself already considers: when a full stop is among its top candidates, its score
gets a bonus that grows with every word past the start of the nudge. Where the model sees
no natural end, nothing changes (askdesk.styling.generation.split_sentences then cuts at a joint, or
the sentence stays long). Never inside bold, code, brackets or a placeholder.
"""

from __future__ import annotations

import re
from typing import Any

#: The nudge starts this many words before the voice's limit ...
LEAD_WORDS = 4
#: ... adding this much to the full stop's score per word past that point (logits),
PER_WORD = 1.5
#: ... when the full stop is among the model's top this-many candidates.
TOP_K = 5

#: Words a sentence cannot end on (articles, prepositions, auxiliaries, conjunctions).
_NO_END_WORDS = (
    "a an the of to in on at by for with from into onto than as and or but nor so if "
    "when until while because that which who whom whose where is are was were be been "
    "being has have had do does did can could will would shall should may might must "
    "not no your my our their its his her this these those such per via about after "
    "before over under between through during without within every each any some all"
)
_NO_END = frozenset(_NO_END_WORDS.split())
_NO_END_SUFFIX = ("'ve", "'re", "'ll", "'d", "n't", "’ve", "’re", "’ll", "’d", "n’t")
_SENTENCE_START = re.compile(r"(?:[.!?][\"”)*]*\s+|\n)(?=[^\n]*\Z)")


class SentenceLengthBias:
    """A scores processor (see askdesk.styling.generation.decode) for one generation."""

    def __init__(self, tokenizer: Any, max_words: int) -> None:
        self.tokenizer = tokenizer
        self.start = max(4, max_words - LEAD_WORDS)
        self.stops = [i for i in (tokenizer.convert_tokens_to_ids("."),) if isinstance(i, int)]
        self.stops = [i for i in self.stops if tokenizer.decode([i]) == "."]

    def words_in_sentence(self, text: str) -> int | None:
        """Words of the sentence being written, or None where a stop must not go."""
        starts = [m.end() for m in _SENTENCE_START.finditer(text)]
        current = text[starts[-1] :] if starts else text
        if not current.strip() or not (current[-1].isalnum() or current[-1] in ")>*`'\""):
            return None  # after a space, a comma, a dash: not where a sentence ends
        inside = current.count("**") % 2 or current.count("`") % 2
        if inside or current.count("(") > current.count(")") or re.search(r"<F?\d*$", current):
            return None
        words = current.split()
        if words[-1].lower().strip("*`") in _NO_END or words[-1].lower().endswith(_NO_END_SUFFIX):
            return None  # "until they've." "the." "of.": a sentence cannot end there
        return len(words)

    def apply(self, generated: list[int], scores: Any) -> Any:
        if not self.stops:
            return scores
        text = self.tokenizer.decode(generated, skip_special_tokens=True)
        words = self.words_in_sentence(text)
        if words is None or words <= self.start:
            return scores
        top = scores.topk(TOP_K).indices.tolist()
        if not any(s in top for s in self.stops):
            return scores
        scores = scores.clone()
        for s in self.stops:
            scores[s] += PER_WORD * (words - self.start)
        return scores
