"""Near-duplicate groups and a train/eval split that never cuts through one.

Two drafts quoted from the same passage read almost alike. If one lands in training and the
other in evaluation, the evaluation measures memory, not style transfer. So examples are
grouped first (token-set Jaccard similarity of their inputs at or above a threshold, joined
transitively) and whole groups are then assigned to one side.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Callable, Sequence

_WORD = re.compile(r"\w+")


def token_set(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(text))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def similar_pairs(texts: Sequence[str], threshold: float = 0.8) -> list[tuple[int, int, float]]:
    """All pairs (i < j) with Jaccard >= threshold.

    Prefix filtering keeps this far below n² comparisons: two sets with Jaccard >= t share at
    least one token among the first |A| - ceil(t·|A|) + 1 tokens of each (rarest first).
    Empty inputs pair with nothing (they are reported as errors on their own).
    """
    sets = [token_set(t) for t in texts]
    freq: dict[str, int] = defaultdict(int)
    for s in sets:
        for w in s:
            freq[w] += 1
    index: dict[str, list[int]] = defaultdict(list)
    pairs: list[tuple[int, int, float]] = []
    order = sorted(range(len(sets)), key=lambda i: (len(sets[i]), i))
    for i in order:
        tokens = sorted(sets[i], key=lambda w: (freq[w], w))
        prefix = len(tokens) - math.ceil(threshold * len(tokens)) + 1
        candidates: set[int] = set()
        for w in tokens[: max(prefix, 0)]:
            candidates.update(index[w])
            index[w].append(i)
        for j in candidates:
            score = jaccard(sets[i], sets[j])
            if score >= threshold:
                a, b = sorted((i, j))
                pairs.append((a, b, score))
    return sorted(pairs)


def groups(n: int, pairs: Sequence[tuple[int, int, float]]) -> list[list[int]]:
    """Connected components (union-find), each sorted, ordered by their first member."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, _ in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        members[find(i)].append(i)
    return sorted(members.values(), key=lambda g: g[0])


def split_groups(
    group_list: Sequence[Sequence[int]],
    key_text: Callable[[int], str],
    *,
    eval_share: float,
    seed: int,
) -> tuple[list[int], list[int]]:
    """Deterministic split of whole groups: groups in the order of a seeded hash of their
    texts go to eval until it holds `eval_share` of the examples.

    Hashing the text (not the position) keeps the split stable when lines are added or
    reordered: an example only moves if its own group changes.
    """
    total = sum(len(g) for g in group_list)
    target = round(eval_share * total)

    def rank(group: Sequence[int]) -> str:
        return min(hashlib.sha256(f"{seed}\0{key_text(i)}".encode()).hexdigest() for i in group)

    eval_idx: list[int] = []
    for group in sorted(group_list, key=rank):
        if len(eval_idx) + len(group) <= target:
            eval_idx.extend(group)
    chosen = set(eval_idx)
    train_idx = [i for g in group_list for i in g if i not in chosen]
    return sorted(train_idx), sorted(eval_idx)
