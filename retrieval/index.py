"""The LanceDB table of chunks: schema, atomic per-batch writes, and lookups for the ingester.

One table holds vector, text and metadata, so a hybrid search never joins across stores.
Every write is a `merge_insert` scoped to the documents of one batch: the batch replaces
those documents' chunks in a single commit, so a run killed half-way leaves each document
either wholly old or wholly new, never duplicated.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from askdesk.retrieval.passages import TABLE as PASSAGES_TABLE
from askdesk.retrieval.passages import PassageStore

if TYPE_CHECKING:
    import lancedb
    import pyarrow as pa

log = logging.getLogger(__name__)

TABLE = "chunks"
STAGING = "chunks_rebuild"
"""Where `--rebuild` builds the new index while the old one keeps serving (see `swap_in`)."""
TEXT_INDEX = "text_idx"
DOC_INDEX = "doc_id_idx"  # LanceDB's default name for a scalar index on doc_id
SEE_WRITES_WITHIN = timedelta(seconds=5)
"""How stale a long-running reader (a bot) may be: after that its next search checks for a
newer table version, so it picks up `askdesk index` runs made by other processes."""
_IN_BATCH = 500  # ids per `IN (...)` filter: keeps the filter string a reasonable size


REMOTE_DEFAULTS: dict[str, str] = {
    # object_store retries a failing request for up to 3 minutes by default; a bot must
    # answer (or apologise) within seconds, so a store that stops answering is given up on
    # sooner: 3 s to connect, 30 s per request, one retry within 10 s
    "connect_timeout": "3s",
    "timeout": "30s",
    "client_max_retries": "1",
    "client_retry_timeout": "10",
}
"""Storage options for an object-store index that the settings may override."""


def remote_storage_options(uri: str, given: Mapping[str, str] | None) -> dict[str, str]:
    """The options LanceDB gets: for `s3://`, `gs://`, `az://`… our fail-fast defaults under
    the given ones (credentials and endpoint may also come from the environment, e.g.
    AWS_ENDPOINT, which LanceDB reads itself); nothing for a local folder."""
    if "://" not in uri or uri.startswith("file://"):
        return dict(given or {})
    return {**REMOTE_DEFAULTS, **{k: str(v) for k, v in (given or {}).items()}}


class IndexUnavailable(Exception):
    """The index cannot be opened or used as is; the message says what the user can do."""


def sql_str(value: str) -> str:
    """Quote a string for a LanceDB (DataFusion SQL) filter."""
    return "'" + value.replace("'", "''") + "'"


def in_filter(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(sql_str(v) for v in values)})"


def prefix_filter(prefixes: Sequence[str]) -> str | None:
    """`doc_id` starts with any of the prefixes; LIKE wildcards in a prefix are escaped."""
    clauses = []
    for p in prefixes:
        p = p.strip().lstrip("./")
        if not p:
            return None  # an empty prefix means everything
        esc = p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(f"doc_id LIKE {sql_str(esc + '%')} ESCAPE '\\'")
    return "(" + " OR ".join(clauses) + ")" if clauses else None


@dataclass(frozen=True)
class ChunkRow:
    """A chunk as stored: the chunk's fields plus its document's hash and its vector."""

    chunk_id: str
    doc_id: str
    doc_hash: str
    ordinal: int
    title: str
    heading: str
    text: str
    content_hash: str
    format: str
    vector: np.ndarray
    url: str | None = None
    """Where a reader opens the document (a page URL, a file at a commit); None: unknown."""


def _schema(dim: int, embed_model: str) -> pa.Schema:
    # lean: LanceDB, pyarrow load when a table is first opened (issue 23)
    import pyarrow as pa

    return pa.schema(
        [
            ("chunk_id", pa.string()),
            ("doc_id", pa.string()),
            ("doc_hash", pa.string()),
            ("ordinal", pa.int32()),
            ("title", pa.string()),
            ("heading", pa.string()),
            ("text", pa.string()),
            ("content_hash", pa.string()),
            ("format", pa.string()),
            ("vector", pa.list_(pa.float32(), dim)),
            ("url", pa.string()),
        ],
        metadata={"embed_model": embed_model},
    )


class ChunkIndex:
    """A handle on the chunks table in one LanceDB database (a folder or an object-store URI)."""

    def __init__(
        self,
        uri: str | Path,
        name: str = TABLE,
        see_writes_within: timedelta = SEE_WRITES_WITHIN,
        storage_options: Mapping[str, str] | None = None,
    ) -> None:
        self.uri = str(uri)
        self.name = name
        self.see_writes_within = see_writes_within
        self.storage_options = remote_storage_options(self.uri, storage_options)
        self._db: lancedb.DBConnection | None = None
        self._table: lancedb.table.Table | None = None
        self._passages: PassageStore | None = None

    # -- opening ---------------------------------------------------------------------------
    @property
    def db(self) -> lancedb.DBConnection:
        if self._db is None:
            # lean: LanceDB, pyarrow load when a table is first opened (issue 23)
            import lancedb

            try:
                if "://" not in self.uri:
                    Path(self.uri).mkdir(parents=True, exist_ok=True)
                self._db = lancedb.connect(
                    self.uri,
                    read_consistency_interval=self.see_writes_within,
                    storage_options=self.storage_options or None,
                )
            except Exception as exc:
                raise IndexUnavailable(
                    f"cannot open the index at {self.uri}: {_first_line(exc)}"
                ) from exc
        return self._db

    def sibling(self, name: str) -> ChunkIndex:
        """Another table in the same database, opened the same way (e.g. the staging table)."""
        return ChunkIndex(self.uri, name, self.see_writes_within, self.storage_options)

    def exists(self) -> bool:
        if self._table is not None:
            return True
        if "://" not in self.uri and not (Path(self.uri) / f"{self.name}.lance").exists():
            return False
        try:
            self._table = self.db.open_table(self.name)
        except Exception as exc:
            if "://" not in self.uri and (Path(self.uri) / f"{self.name}.lance").exists():
                raise IndexUnavailable(
                    f"the index at {self.uri} is unreadable ({_first_line(exc)}); move the folder "
                    "aside and run `askdesk index` again to rebuild it"
                ) from exc
            return False
        return True

    @property
    def table(self) -> lancedb.table.Table:
        if not self.exists():
            raise IndexUnavailable(
                f"no index at {self.uri} yet: run `askdesk index DOCS_FOLDER` first"
            )
        assert self._table is not None
        return self._table

    def create(self, dim: int, embed_model: str) -> None:
        """An empty table with its full-text index already there, so no crash between the
        first write and the index creation can leave a table that full-text search refuses."""
        self._table = self.db.create_table(
            self.name, schema=_schema(dim, embed_model), mode="create"
        )
        self.ensure_text_index()
        self.ensure_doc_index()

    def drop(self) -> None:
        if self.exists():
            self.db.drop_table(self.name)
        self._table = None

    # -- undoing an interrupted run (askdesk.retrieval.writer_lock) --------------------------------
    def table_versions(self) -> dict[str, int]:
        """The version of each table an index run writes (0: it does not exist yet)."""
        out: dict[str, int] = {}
        for name in (self.name, PASSAGES_TABLE):
            try:
                out[name] = int(self.db.open_table(name).version)
            except (FileNotFoundError, ValueError):
                out[name] = 0
        return out

    def restore_versions(self, versions: Mapping[str, int]) -> list[str]:
        """Put each table back to the given version (drop it when it did not exist then):
        what a run that died after it recorded them had changed is undone. Returns the
        tables restored."""
        restored: list[str] = []
        for name, version in versions.items():
            try:
                table = self.db.open_table(name)
            except (FileNotFoundError, ValueError):
                continue
            if version <= 0:
                self.db.drop_table(name)
                restored.append(name)
            elif int(table.version) > version:
                table.restore(version)
                restored.append(name)
        self._table = None
        self._passages = None
        return restored

    def swap_in(self, staged: ChunkIndex) -> None:
        """Make the staged table's rows this table's contents, in one commit.

        The overwrite is a new version of the same LanceDB table: until it commits every
        reader sees the old index, after it they see the new one, and a long-running bot's
        `refresh` (checkout_latest) picks it up. Its schema (embedding model and dimension)
        comes from the staged table. The full-text index is rebuilt right after; a search in
        that moment answers from vectors (see `Searcher`), and the next run repairs the index
        if the process dies there.
        """
        reader = staged.table.search().limit(None).to_batches()
        self._table = self.db.create_table(self.name, data=reader, mode="overwrite")
        self.ensure_text_index()
        self.ensure_doc_index()

    def ensure_url_column(self) -> bool:
        """Add the `url` column to a table made before sources had URLs (rows get NULL, and
        answers fall back to `docs_url_template`). Returns whether it added it."""
        if "url" in self.table.schema.names:
            return False
        self.table.add_columns({"url": "CAST(NULL AS STRING)"})
        log.info("index: url column added", extra={"table": self.name})
        return True

    @property
    def embed_model(self) -> str | None:
        meta = self.table.schema.metadata or {}
        raw = meta.get(b"embed_model")
        return raw.decode() if raw else None

    @property
    def version(self) -> int:
        return int(self.table.version) if self.exists() else 0

    def count(self) -> int:
        return self.table.count_rows() if self.exists() else 0

    def refresh(self) -> None:
        """See writes made by other processes (a long-running bot after `askdesk index`)."""
        if self._table is not None:
            self._table.checkout_latest()
        if self._passages is not None:
            self._passages.refresh()

    # -- reading for the ingester ----------------------------------------------------------
    def _scan(self, where: str | None, columns: list[str]) -> pa.Table:
        q = self.table.search().select(columns).limit(None)
        if where:
            q = q.where(where)
        return q.to_arrow()

    def doc_states(self) -> dict[str, str]:
        """doc_id → doc_hash for every indexed document."""
        if not self.exists() or self.count() == 0:
            return {}
        t = self._scan(None, ["doc_id", "doc_hash"])
        return dict(
            zip(t.column("doc_id").to_pylist(), t.column("doc_hash").to_pylist(), strict=True)
        )

    def doc_urls(self) -> dict[str, str | None]:
        """doc_id → the link stored with its chunks (None: no link)."""
        if not self.exists() or self.count() == 0:
            return {}
        t = self._scan(None, ["doc_id", "url"])
        out: dict[str, str | None] = {}
        docs, urls = t.column("doc_id").to_pylist(), t.column("url").to_pylist()
        for doc, url in zip(docs, urls, strict=True):
            out.setdefault(doc, url)
        return out

    def doc_chunk_counts(self) -> dict[str, int]:
        if not self.exists() or self.count() == 0:
            return {}
        counts: dict[str, int] = {}
        for d in self._scan(None, ["doc_id"]).column("doc_id").to_pylist():
            counts[d] = counts.get(d, 0) + 1
        return counts

    def content_hashes(self) -> set[str]:
        """Every stored chunk text's hash (what the passages table must cover)."""
        if not self.exists() or self.count() == 0:
            return set()
        return set(self._scan(None, ["content_hash"]).column("content_hash").to_pylist())

    def texts_for(self, content_hashes: Iterable[str]) -> list[tuple[str, str]]:
        """(content_hash, text) of the chunks with these hashes, one per hash."""
        wanted = sorted(set(content_hashes))
        out: dict[str, str] = {}
        for start in range(0, len(wanted), _IN_BATCH):
            part = wanted[start : start + _IN_BATCH]
            t = self._scan(in_filter("content_hash", part), ["content_hash", "text"])
            for h, text in zip(
                t.column("content_hash").to_pylist(), t.column("text").to_pylist(), strict=True
            ):
                out.setdefault(h, text)
        return list(out.items())

    def sample(self, n: int) -> list[dict[str, Any]]:
        """About n chunks spread evenly over the index in (doc_id, ordinal) order:
        deterministic, so a calibration on an unchanged index is repeatable."""
        if not self.exists() or self.count() == 0:
            return []
        rows = self._scan(None, ["doc_id", "ordinal", "text"]).to_pylist()
        rows.sort(key=lambda r: (r["doc_id"], r["ordinal"]))
        step = max(len(rows) / max(n, 1), 1.0)
        return [rows[int(i * step)] for i in range(min(n, len(rows)))]

    @property
    def passages(self) -> PassageStore:
        """The per-block vectors of the chunk texts (see askdesk.retrieval.passages)."""
        if self._passages is None:
            self._passages = PassageStore(lambda: self.db)
        return self._passages

    def neighbours(self, wanted: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
        """Chunks by (doc_id, ordinal): the text just before or after a hit, which may hold
        the rest of its answer. In table order, as a scan returns them.

        One `doc_id IN (...) AND ordinal IN (...)` filter, which the doc_id index answers
        (an OR of per-document clauses made LanceDB scan all 20k rows: 4.3-5.5 ms vs ~3),
        then the exact pairs kept and sorted by row id: the order of a plain scan."""
        pairs = {(d, int(o)) for d, o in wanted}
        if not pairs:
            return []
        docs = sorted({d for d, _ in pairs})
        ordinals = ", ".join(str(o) for o in sorted({o for _, o in pairs}))
        found = (
            self.table.search()
            .where(f"{in_filter('doc_id', docs)} AND ordinal IN ({ordinals})")
            .select(self._text_columns())
            .with_row_id(True)
            .limit(None)
            .to_arrow()
        )
        rows = [r for r in found.to_pylist() if (r["doc_id"], int(r["ordinal"])) in pairs]
        rows.sort(key=lambda r: r["_rowid"])
        for r in rows:
            del r["_rowid"]
        return rows

    def vectors_for(self, content_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors by content hash: the cache that makes unchanged chunks free."""
        wanted = sorted(set(content_hashes))
        found: dict[str, np.ndarray] = {}
        if not wanted or not self.exists() or self.count() == 0:
            return found
        for start in range(0, len(wanted), _IN_BATCH):
            part = wanted[start : start + _IN_BATCH]
            t = self._scan(in_filter("content_hash", part), ["content_hash", "vector"])
            hashes = t.column("content_hash").to_pylist()
            vecs = np.asarray(t.column("vector").to_pylist(), dtype=np.float32)
            for h, v in zip(hashes, vecs, strict=True):
                found.setdefault(h, v)
        return found

    # -- writing ---------------------------------------------------------------------------
    def replace_documents(self, doc_ids: Sequence[str], rows: Sequence[ChunkRow]) -> None:
        """Make `rows` the complete set of chunks of `doc_ids`, in one commit."""
        if not doc_ids:
            return
        data = _to_arrow(rows, self.table.schema)
        (
            self.table.merge_insert("chunk_id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .when_not_matched_by_source_delete(in_filter("doc_id", doc_ids))
            .execute(data)
        )

    def set_document_urls(self, urls: Mapping[str, str | None]) -> None:
        """Give the chunks of these documents a new link (nothing re-embedded), one commit
        per batch of documents."""
        # lean: LanceDB, pyarrow load when a table is first opened (issue 23)
        import pyarrow as pa

        docs = sorted(urls)
        for start in range(0, len(docs), _IN_BATCH):
            part = docs[start : start + _IN_BATCH]
            rows = self.table.search().where(in_filter("doc_id", part)).limit(None).to_arrow()
            if rows.num_rows == 0:
                continue
            new = pa.array([urls[d] for d in rows.column("doc_id").to_pylist()], pa.string())
            rows = rows.set_column(rows.schema.get_field_index("url"), "url", new)
            keep = [c for c in self.table.schema.names if c in rows.column_names]
            (
                self.table.merge_insert("chunk_id")
                .when_matched_update_all()
                .execute(rows.select(keep))
            )

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        for start in range(0, len(doc_ids), _IN_BATCH):
            self.table.delete(in_filter("doc_id", doc_ids[start : start + _IN_BATCH]))

    def has_text_index(self) -> bool:
        return TEXT_INDEX in {i.name for i in self.table.list_indices()}

    def ensure_text_index(self) -> bool:
        """Build the full-text index if it is missing (new rows are folded in by `compact`).

        Cheap when it exists, so every run calls it: a table that lost its index (a crash,
        an older version) is repaired by the next `askdesk index`. Returns whether it built.
        """
        # lean: LanceDB, pyarrow load when a table is first opened (issue 23)
        from lancedb.index import FTS

        if self.has_text_index():
            return False
        self.table.create_index("text", config=FTS(with_position=False), replace=True)
        log.info("full-text index built", extra={"table": self.name, "rows": self.count()})
        return True

    def has_doc_index(self) -> bool:
        return DOC_INDEX in {i.name for i in self.table.list_indices()}

    def ensure_doc_index(self) -> bool:
        """Build the scalar (BTREE) index on doc_id if it is missing: every answer fetches the
        chunks around its hits by document, which without it scans every row. Cheap when
        present, so every index run calls it and an index made before it gets one; rows
        written later are folded in by `compact`. A failure only costs speed: logged, never
        raised. Returns whether it built."""
        # lean: LanceDB, pyarrow load when a table is first opened (issue 23)
        from lancedb.index import BTree

        try:
            if self.has_doc_index():
                return False
            self.table.create_index("doc_id", config=BTree(), replace=True)
        except Exception as exc:
            log.warning("doc_id index not built", extra={"error": _first_line(exc)})
            return False
        return True

    def compact(self, keep_versions_for: timedelta = timedelta(days=7)) -> None:
        """Merge small fragments and index new rows; keep a week of versions for rollback."""
        try:
            self.table.optimize(cleanup_older_than=keep_versions_for)
        except Exception as exc:  # optimisation is an optimisation: never fail a run on it
            log.warning("optimize failed", extra={"error": _first_line(exc)})

    # -- reading for search ----------------------------------------------------------------
    def vector_search(
        self, vector: np.ndarray, limit: int, where: str | None = None
    ) -> list[dict[str, Any]]:
        q = self.table.search(vector, query_type="vector").distance_type("cosine").limit(limit)
        if where:
            q = q.where(where, prefilter=True)
        # no vector column: LanceDB's cosine distance already gives the similarity
        return q.select([*self._text_columns(), "_distance"]).to_list()

    def text_search(self, text: str, limit: int, where: str | None = None) -> list[dict[str, Any]]:
        q = self.table.search(text, query_type="fts").limit(limit)
        if where:
            q = q.where(where, prefilter=True)
        found = q.select([*self._text_columns(), "vector", "_score"]).to_arrow()
        # each row's stored vector as a float32 array, not 384 Python floats (`to_list`)
        column = found.column("vector").combine_chunks()
        vectors = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        vectors = vectors.reshape(found.num_rows, column.type.list_size)
        rows = found.drop_columns(["vector"]).to_pylist()
        for row, vector in zip(rows, vectors, strict=True):
            row["vector"] = vector
        return rows

    def _text_columns(self) -> list[str]:
        """The result columns this table has: one made before `url` existed is still read
        (by a bot that has not seen a reindex yet) without it."""
        names = set(self.table.schema.names)
        return [c for c in _TEXT_COLUMNS if c in names]


_TEXT_COLUMNS = [
    "chunk_id",
    "doc_id",
    "ordinal",
    "title",
    "heading",
    "text",
    "content_hash",
    "url",
]


def _to_arrow(rows: Sequence[ChunkRow], schema: pa.Schema) -> pa.Table:
    # lean: LanceDB, pyarrow load when a table is first opened (issue 23)
    import pyarrow as pa

    dim = schema.field("vector").type.list_size
    vectors = np.asarray([r.vector for r in rows], dtype=np.float32).reshape(len(rows), dim)
    arrays = [
        pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float32()), dim)
        if f.name == "vector"
        else pa.array([getattr(r, f.name) for r in rows], type=f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
