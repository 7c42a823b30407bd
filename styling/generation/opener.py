"""Which opener an answer gets, calibrated on the examples.

The voice has more than one opener ("Hey there! 👋" for most answers, "Hey there." for a
warning), and the model decides between them on the one token where they differ. Trained on
213 examples of which 12 are warnings, a 135M model nearly always picks the common one, so a
warning came out cheerful. Each opener's log-probability after the draft is a better signal
than the greedy pick: on the examples it separates the two kinds, once each opener gets an
offset. `fit_offsets` finds the offsets that pick each training example's own opener most
often (balanced over openers, so 12 warnings count as much as 201 others); they are stored
with the frame and added at rewrite time (askdesk.styling.generation.decode `choices`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise


def fit_offsets(scores: Sequence[Sequence[float]], labels: Sequence[int]) -> list[float]:
    """Offsets (the first opener's is 0) maximising balanced accuracy of
    argmax(score + offset) over the examples; a few rounds of search per opener over the
    midpoints between the examples' score differences."""
    k = len(scores[0]) if scores else 0
    offsets = [0.0] * k
    if k < 2:
        return offsets
    for _ in range(3):
        for j in range(1, k):
            best = (_balanced(scores, labels, offsets), offsets[j])
            for cand in _candidates(scores, offsets, j):
                trial = [*offsets[:j], cand, *offsets[j + 1 :]]
                acc = _balanced(scores, labels, trial)
                if acc > best[0] + 1e-12:
                    best = (acc, cand)
            offsets[j] = best[1]
    return offsets


def choose(scores: Sequence[float], offsets: Sequence[float]) -> int:
    totals = [s + (offsets[i] if i < len(offsets) else 0.0) for i, s in enumerate(scores)]
    return max(range(len(totals)), key=totals.__getitem__)


def _balanced(
    scores: Sequence[Sequence[float]], labels: Sequence[int], offsets: list[float]
) -> float:
    hits: dict[int, list[int]] = {}
    for s, y in zip(scores, labels, strict=True):
        hits.setdefault(y, []).append(choose(s, offsets) == y)
    return sum(sum(h) / len(h) for h in hits.values()) / len(hits)


def _candidates(scores: Sequence[Sequence[float]], offsets: list[float], j: int) -> list[float]:
    """Offsets for opener j at which some example's choice flips, nudged past each flip."""
    needs = []
    for s in scores:
        rival = max(s[i] + offsets[i] for i in range(len(s)) if i != j)
        needs.append(rival - s[j])
    needs.sort()
    out = [needs[0] - 1.0, needs[-1] + 1.0]
    out += [(a + b) / 2 for a, b in pairwise(needs)]
    return out
