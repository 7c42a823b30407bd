"""Group the questions the docs did not answer into topics, so the team writes one page per
topic instead of reading every question.

Greedy and deterministic on purpose: the same questions always give the same clusters (the
dashboard re-renders on every filter change), and with a few thousand questions a full
similarity matrix is cheap, so no approximate index or random seeding is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Encode = Callable[[list[str]], np.ndarray]

EXAMPLES_MAX = 5
MAX_ITEMS = 3000
"""At most this many questions are clustered (the first ones given: pass newest first)."""


def _normalized(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def cluster_questions(
    items: Sequence[dict[str, Any]],
    encode: Encode,
    threshold: float = 0.75,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Clusters of similar questions, biggest first: {representative, count,
    interaction_ids, examples, hedged (how many were answered hedged)}.

    `items` are {"id", "question"} dicts (e.g. `Analytics.gap_candidates`). Identical
    questions (case and spacing aside) are encoded once. Then, repeatedly, the question with
    the most unclaimed neighbours at cosine similarity >= `threshold` becomes a cluster's
    representative and claims them; ties go to the earlier question. A question like no other
    is a cluster of one.
    """
    items = [i for i in items[:MAX_ITEMS] if str(i.get("question") or "").strip()]
    if not items:
        return []
    texts: list[str] = []
    members: list[list[int]] = []  # per distinct text: positions in items
    seen: dict[str, int] = {}
    for pos, item in enumerate(items):
        key = _key(str(item["question"]))
        if key not in seen:
            seen[key] = len(texts)
            texts.append(str(item["question"]).strip())
            members.append([])
        members[seen[key]].append(pos)

    vectors = _normalized(encode(texts))
    similar = (vectors @ vectors.T) >= threshold
    np.fill_diagonal(similar, True)  # a question always joins its own cluster
    weight = np.array([len(m) for m in members], dtype=np.int32)
    # how many unclaimed questions (repeats included) each text would claim, kept up to date
    # as clusters form, so the whole loop stays O(n²)
    reach = similar.astype(np.int32) @ weight
    free = np.ones(len(texts), dtype=bool)
    clusters: list[dict[str, Any]] = []
    while free.any():
        seed = int(np.argmax(np.where(free, reach, -1)))  # first maximum: deterministic
        claimed = np.flatnonzero(similar[seed] & free)
        free[claimed] = False
        reach -= similar[:, claimed].astype(np.int32) @ weight[claimed]
        # the seed first, then its neighbours from most to least similar, earliest first
        order = sorted(claimed, key=lambda t: (t != seed, -float(vectors[seed] @ vectors[t]), t))
        positions = [p for t in order for p in members[t]]
        clusters.append(
            {
                "representative": texts[seed],
                "count": len(positions),
                "interaction_ids": [items[p]["id"] for p in positions],
                "hedged": sum(1 for p in positions if items[p].get("kind") == "hedged"),
                "examples": [texts[t] for t in order[:EXAMPLES_MAX]],
            }
        )
    clusters.sort(key=lambda c: -c["count"])  # stable: equal counts keep discovery order
    return clusters[:limit]
