"""Passages: the blocks of a chunk that an answer can quote, embedded once at index time.

A chunk (~220 words) is what search ranks; the part of it that answers is usually one block
of it: a paragraph, a list with its intro, a table, a code block with the sentence that
introduces it. The composer chooses among blocks by meaning (cosine to the question), so each
block gets a vector. Embedding them at question time would cost ~10x the whole answer budget
on a CPU; at index time it costs about as much again as embedding the chunks.

The vectors live in their own LanceDB table keyed by the chunk's content hash, not its id: it
is a cache of "this text's blocks", so a rebuild or a renamed file reuses it, an interrupted
run loses nothing (the next run fills what is missing) and an index built before passages
existed gains them at its next `askdesk index`, without a rebuild.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

from askdesk.retrieval.text_units import Unit, split_units

if TYPE_CHECKING:
    import lancedb
    import pyarrow as pa

log = logging.getLogger(__name__)

TABLE = "passages"
LONG_BLOCK_WORDS = 160  # a longer paragraph is embedded in sentence runs of about half that
WHOLE_BLOCK_WORDS = 200  # a whole block's embedded text (the model reads ~256 tokens of it)
VERSION = "5"  # bump when `passages` cuts differently: stored blocks of another cut are redone
_IN_BATCH = 500


@dataclass(frozen=True)
class Passage:
    """Units [start, end) of a chunk's `split_units`, and the text that is embedded for them."""

    start: int
    end: int
    text: str


def passages(units: Sequence[Unit]) -> list[Passage]:
    """Group a chunk's units into quotable blocks (deterministic: the index and the composer
    must cut the same blocks). Headings are not blocks; a list, table or code block carries
    the sentence before it when that sentence introduces it."""
    blocks: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        if units[i].kind == "heading":
            i += 1
            continue
        j = i + 1
        while j < len(units) and units[j].para == units[i].para and units[j].kind != "heading":
            j += 1
        blocks.extend(_split_long(units, i, j))
        i = j
    out: list[Passage] = []
    for start, end in blocks:
        body = [u.text for u in units[start:end]]
        prev = units[start - 1] if start > 0 else None
        if (
            prev is not None
            and prev.kind == "sentence"
            and units[start].kind in ("item", "row", "code")
        ):
            body.insert(0, prev.text)  # "Exit codes:" or "Run this:" says what follows
        text = " ".join(body) if all(u.kind == "sentence" for u in units[start:end]) else None
        out.append(Passage(start, end, text or "\n".join(body)))
    out.extend(_whole_blocks(units, blocks))
    return out


def _whole_blocks(units: Sequence[Unit], blocks: list[tuple[int, int]]) -> list[Passage]:
    """Each blank-line block cut into several passages (an FAQ answer with its list and code,
    a long paragraph) is embedded whole as well, after the parts: the model ranks the answer
    as a whole better than any of its parts (issue 19: the best part chose the wrong answer
    where the whole answers' ranking chose right), and quoting starts at its beginning."""
    out: list[Passage] = []
    i = 0
    while i < len(units):
        j = i
        while j < len(units) and units[j].block == units[i].block:
            j += 1
        parts = [b for b in blocks if i <= b[0] and b[1] <= j]
        if len(parts) > 1 and all(u.kind != "heading" for u in units[i:j]):
            text = " ".join(u.text for u in units[i:j])
            out.append(Passage(i, j, " ".join(text.split()[:WHOLE_BLOCK_WORDS])))
        i = j
    return out


def _split_long(units: Sequence[Unit], start: int, end: int) -> list[tuple[int, int]]:
    """A long run of sentences becomes runs of about LONG_BLOCK_WORDS / 2 words."""
    words = sum(u.words for u in units[start:end])
    if words <= LONG_BLOCK_WORDS or any(u.kind != "sentence" for u in units[start:end]):
        return [(start, end)]
    aim = LONG_BLOCK_WORDS // 2
    pieces: list[tuple[int, int]] = []
    s, count = start, 0
    for k in range(start, end):
        count += units[k].words
        if count >= aim and k + 1 < end:
            pieces.append((s, k + 1))
            s, count = k + 1, 0
    pieces.append((s, end))
    return pieces


def key(chunk_hash: str) -> str:
    """The stored key of a chunk text's blocks: its hash under this version of the cut."""
    return f"{VERSION}:{chunk_hash}"


def chunk_passages(text: str) -> list[Passage]:
    return passages(split_units(text))


def _schema(dim: int) -> pa.Schema:
    # lean: LanceDB, pyarrow load when a table is first opened (issue 23)
    import pyarrow as pa

    return pa.schema(
        [
            ("chunk_hash", pa.string()),
            ("block", pa.int32()),
            ("vector", pa.list_(pa.float32(), dim)),
        ]
    )


class PassageStore:
    """The passages table beside the chunks table (same LanceDB database)."""

    def __init__(self, db: Callable[[], lancedb.DBConnection]) -> None:
        self._db = db
        self._table: lancedb.table.Table | None = None

    def _open(self) -> lancedb.table.Table | None:
        if self._table is None:
            try:
                self._table = self._db().open_table(TABLE)
            except Exception:  # not created yet (an index from before passages existed)
                return None
        return self._table

    def exists(self) -> bool:
        return self._open() is not None

    def refresh(self) -> None:
        if self._table is not None:
            self._table.checkout_latest()
        else:
            self._open()

    def stored_keys(self) -> set[str]:
        """Every stored key (`key(chunk_hash)`), one scan of one column."""
        table = self._open()
        if table is None:
            return set()
        col = table.search().select(["chunk_hash"]).limit(None).to_arrow().column("chunk_hash")
        return set(col.to_pylist())

    def stored_hashes(self, keys: set[str] | None = None) -> set[str]:
        """The chunk hashes whose blocks are stored under the current cut (from `keys`, the
        stored keys when the caller has already read them)."""
        prefix = f"{VERSION}:"
        keys = self.stored_keys() if keys is None else keys
        return {k[len(prefix) :] for k in keys if k.startswith(prefix)}

    def add(self, rows: Sequence[tuple[str, int, np.ndarray]]) -> None:
        """Append (chunk_hash, block, vector) rows; a chunk's blocks are written together."""
        if not rows:
            return
        # lean: LanceDB, pyarrow load when a table is first opened (issue 23)
        import pyarrow as pa

        dim = len(rows[0][2])
        vectors = np.asarray([r[2] for r in rows], dtype=np.float32).reshape(len(rows), dim)
        data = pa.Table.from_arrays(
            [
                pa.array([key(r[0]) for r in rows], type=pa.string()),
                pa.array([r[1] for r in rows], type=pa.int32()),
                pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim),
            ],
            schema=_schema(dim),
        )
        table = self._open()
        if table is None:
            self._table = self._db().create_table(TABLE, data=data, mode="create")
        else:
            table.add(data)

    def ensure_index(self) -> None:
        """A scalar index on chunk_hash that covers every row: answering looks up ~15 chunks'
        blocks per question, and rows added after the index was built are scanned in full
        until `optimize` folds them in (51k unindexed rows: 50 ms a question)."""
        table = self._open()
        if table is None:
            return
        try:
            if "chunk_hash_idx" in {i.name for i in table.list_indices()}:
                table.optimize(cleanup_older_than=timedelta(days=7))
            else:
                # lean: LanceDB, pyarrow load when a table is first opened (issue 23)
                from lancedb.index import BTree

                table.create_index("chunk_hash", config=BTree(), replace=True)
        except Exception as exc:  # a lookup without the index is slower, never wrong
            log.warning("passage index not built", extra={"error": str(exc)[:200]})

    def prune(self, keep: set[str], keys: set[str] | None = None) -> int:
        """Drop the blocks of chunk texts no longer in the index, and those of an older cut;
        returns how many texts."""
        stored = self.stored_keys() if keys is None else keys
        stale = sorted(stored - {key(h) for h in keep})
        table = self._open()
        if table is None or not stale:
            return 0
        for s in range(0, len(stale), _IN_BATCH):
            part = ", ".join("'" + h.replace("'", "''") + "'" for h in stale[s : s + _IN_BATCH])
            table.delete(f"chunk_hash IN ({part})")
        return len(stale)

    def vectors(self, chunk_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """chunk_hash → (blocks × dim) matrix, for the chunks that have passages stored."""
        wanted = sorted({key(h) for h in chunk_hashes})
        table = self._open()
        if table is None or not wanted:
            return {}
        part = ", ".join("'" + h.replace("'", "''") + "'" for h in wanted)
        # read as Arrow, vectors straight into one float32 matrix: a Python float per
        # component (`to_list`) cost ~2.5 ms of a ~7 ms lookup of 40 chunks' blocks
        found = (
            table.search()
            .where(f"chunk_hash IN ({part})")
            .select(["chunk_hash", "block", "vector"])
            .limit(None)
            .to_arrow()
        )
        if found.num_rows == 0:
            return {}
        hashes = found.column("chunk_hash").to_pylist()
        blocks = found.column("block").to_numpy()
        column = found.column("vector").combine_chunks()
        matrix = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        matrix = matrix.reshape(found.num_rows, column.type.list_size)
        rows: dict[str, list[int]] = {}
        for i, h in enumerate(hashes):
            rows.setdefault(h, []).append(i)
        cut = len(VERSION) + 1
        return {
            h[cut:]: matrix[sorted(idx, key=lambda i: int(blocks[i]))] for h, idx in rows.items()
        }


def embed_missing(
    store: PassageStore,
    chunks: Iterable[tuple[str, str]],
    encode: Callable[[list[str]], np.ndarray],
    *,
    batch_texts: int = 1024,
    on_done: Callable[[int, int], None] | None = None,
) -> int:
    """Embed and store the blocks of (content_hash, text) chunks that have none stored yet.

    Written per batch of chunks, each chunk's blocks together, so an interrupted run keeps
    what it embedded. Returns the number of blocks embedded."""
    todo: dict[str, list[Passage]] = {}
    for chash, text in chunks:
        todo.setdefault(chash, chunk_passages(text))
    total = sum(len(p) for p in todo.values())
    done = 0
    if on_done:
        on_done(0, total)
    batch: list[tuple[str, list[Passage]]] = []
    size = 0
    items = list(todo.items())
    for n, (chash, ps) in enumerate(items, 1):
        if ps:
            batch.append((chash, ps))
            size += len(ps)
        if batch and (size >= batch_texts or n == len(items)):
            vecs = encode([p.text for _, group in batch for p in group])
            rows: list[tuple[str, int, np.ndarray]] = []
            k = 0
            for h, group in batch:
                for b in range(len(group)):
                    rows.append((h, b, vecs[k]))
                    k += 1
            store.add(rows)
            done += len(rows)
            if on_done:
                on_done(done, total)
            batch, size = [], 0
    return total
