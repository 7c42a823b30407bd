"""A per-KB query adapter learned from the docs alone (inverse cloze task), for the
`--adapter` experiment of bench/answer_quality.py.

Pseudo-queries are sentences of the KB's own passages (askdesk.retrieval.passages blocks); the
positive is the block they came from with that sentence removed, the negatives every other
stored block of the KB (the same page's blocks included: the hard ones). A 384x384 linear map
on the frozen MiniLM query vector, initialised to identity and pulled back toward it, is
trained with InfoNCE on CPU; the composer then scores blocks by cos(W q, block). No hand
label is used anywhere, so a user's KB could supply it at index time. 10% of the pairs are
held out to report how well the map solves its own task (ICT accuracy before -> after).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.passages import passages
from askdesk.retrieval.text_units import Unit, split_units


@dataclass
class Block:
    doc: int
    units: list[Unit]
    vector: np.ndarray


def kb_blocks(index: ChunkIndex) -> list[Block]:
    """Every stored block of the index with its stored vector, in page order."""
    rows = index._scan(None, ["doc_id", "ordinal", "text", "content_hash"]).to_pylist()
    rows.sort(key=lambda r: (r["doc_id"], r["ordinal"]))
    stored = index.passages.vectors([r["content_hash"] for r in rows])
    doc_no = {d: i for i, d in enumerate(sorted({r["doc_id"] for r in rows}))}
    out: list[Block] = []
    for r in rows:
        units = split_units(r["text"])
        cut = passages(units)
        vecs = stored.get(r["content_hash"])
        if vecs is None or len(vecs) != len(cut):
            continue
        out += [
            Block(doc_no[r["doc_id"]], units[p.start : p.end], v)
            for p, v in zip(cut, vecs, strict=True)
        ]
    return out


def ict_pairs(
    blocks: list[Block], emb: Embedder, *, per_block: int = 2, max_pairs: int = 3000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pseudo-query vectors, positive vectors, index of the source block) for up to
    `per_block` sentences of each block that has something left once the sentence is out."""
    rng = np.random.default_rng(seed)
    queries: list[str] = []
    positives: list[str] = []
    source: list[int] = []
    for b_i, b in enumerate(blocks):
        sents = [k for k, u in enumerate(b.units) if u.kind == "sentence" and u.words >= 4]
        if len(b.units) < 2 or not sents:
            continue
        for k in rng.permutation(sents)[:per_block]:
            queries.append(b.units[k].text)
            positives.append(" ".join(u.text for j, u in enumerate(b.units) if j != k))
            source.append(b_i)
    if len(queries) > max_pairs:
        keep = rng.permutation(len(queries))[:max_pairs]
        queries = [queries[i] for i in keep]
        positives = [positives[i] for i in keep]
        source = [source[i] for i in keep]
    return emb.encode(queries), emb.encode(positives), np.asarray(source)


def train(
    queries: np.ndarray,
    positives: np.ndarray,
    source: np.ndarray,
    blocks: np.ndarray,
    *,
    rank: int | None = 8,
    lam: float = 0.0,
    tau: float = 0.05,
    steps: int = 150,
    lr: float = 1e-3,
    check_every: int = 25,
    seed: int = 0,
) -> tuple[np.ndarray, float, float]:
    """W = I + U V^T (rank `rank`; None: a full matrix, `lam` x |W - I|^2 pulling it back),
    kept at the check where the held-out ICT top-1 accuracy was best (label-free early
    stopping); returns W and that accuracy before and at the kept check."""
    # optional: torch (askdesk[torch]): the adapter is trained with it
    import torch

    torch.set_num_threads(1)  # two threads stall when other processes hold a core
    g = torch.Generator().manual_seed(seed)
    n = len(queries)
    perm = torch.randperm(n, generator=g)
    val, tr = perm[: max(1, n // 10)], perm[n // 10 :]
    q, p, b = (torch.tensor(x, dtype=torch.float32) for x in (queries, positives, blocks))
    src = torch.tensor(source)
    dim = q.shape[1]
    eye = torch.eye(dim)
    if rank is None:
        params = [torch.nn.Parameter(eye.clone())]

        def matrix() -> torch.Tensor:
            return params[0]
    else:
        params = [
            torch.nn.Parameter(torch.zeros(dim, rank)),
            torch.nn.Parameter(torch.randn(dim, rank, generator=g) * 0.01),
        ]

        def matrix() -> torch.Tensor:
            return eye + params[0] @ params[1].T

    opt = torch.optim.Adam(params, lr=lr)

    def logits(rows: torch.Tensor) -> torch.Tensor:
        z = torch.nn.functional.normalize(q[rows] @ matrix().T, dim=1)
        neg = z @ b.T
        neg[torch.arange(len(rows)), src[rows]] = -1e4  # the block still holding the sentence
        pos = (z * p[rows]).sum(1, keepdim=True)
        return torch.cat([pos, neg], 1) / tau

    def accuracy(rows: torch.Tensor) -> float:
        with torch.no_grad():
            return float((logits(rows).argmax(1) == 0).float().mean())

    before = best = accuracy(val)
    kept = eye.numpy().copy()
    target = torch.zeros(len(tr), dtype=torch.long)
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits(tr), target)
        if lam:
            loss = loss + lam * ((matrix() - eye) ** 2).sum()
        loss.backward()
        opt.step()
        if step % check_every == 0 and (acc := accuracy(val)) > best:
            best, kept = acc, matrix().detach().numpy().copy()
    return kept, before, best


def apply(w: np.ndarray, vector: np.ndarray) -> np.ndarray:
    z = w @ vector
    return (z / (np.linalg.norm(z) or 1.0)).astype(np.float32)
