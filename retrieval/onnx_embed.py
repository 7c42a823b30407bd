"""Sentence embeddings on onnxruntime + tokenizers: the same vectors as sentence-transformers
without importing torch (0.2 s and ~50 MB instead of ~7 s and ~460 MB).

The ONNX graph is written once per model by `askdesk.retrieval.onnx_export` and cached in
DATA_DIR/models/embed-onnx/<model checksum>/ next to a manifest. Tokenising, pooling and
normalising follow the model's own `modules.json`, `sentence_bert_config.json` and pooling
config, so an index built with sentence-transformers stays valid (tests check cosine ≥ 0.9999).

Bad caches never give wrong vectors: the key is the checksum of the model's files (a model
folder changed after the export gets a new key; it is hashed again whenever a file's size,
mtime or ctime differs from the manifest's), the ONNX file's checksum is checked whenever
its size or mtime differs from the manifest's, a fixed probe is embedded on every load and
compared with the vectors recorded at export, exports are serialised by a file lock and written
by atomic rename, and a read-only data dir means an in-memory export, said once in the log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from askdesk.retrieval.mapped_pages import page_out
from askdesk.retrieval.onnx_export import (
    GRAPH_FILE,
    INPUTS,
    KNOWN_MODULES,
    NotExportable,
    build_model,
    save_with_external_weights,
    serialise,
)

log = logging.getLogger(__name__)

FORMAT = 2  # bump when the graph or the manifest changes: old cache entries are then rebuilt
CACHE_SUBDIR = Path("models") / "embed-onnx"
# embedded on every load and compared with the vectors recorded at export: a cached graph that
# parses but computes something else is caught before it embeds a single question
PROBE = (
    "How do I rotate an API key?",
    "Ünïcode, emoji ✓ and 中文 in one line.",
    "The quick brown fox jumps over the lazy dog. " * 12,
)
PROBE_MIN_COSINE = 0.9999
LOCK_WAIT_S = 300.0
# files that document a model but don't change its vectors: left out of the checksum
_NOT_MODEL = {"README.md", ".gitattributes", "data_config.json"}
_POOL_ORDER = ("cls", "max", "mean", "mean_sqrt_len")  # sentence-transformers' concat order


@dataclass(frozen=True)
class Recipe:
    """How sentence-transformers turns this folder's encoder output into a sentence vector."""

    folder: Path
    pooling: tuple[str, ...]
    normalize: bool
    max_seq_length: int
    do_lower_case: bool

    @classmethod
    def read(cls, folder: Path) -> Recipe:
        try:
            modules = json.loads((folder / "modules.json").read_text())
            sbert = _json_or_empty(folder / "sentence_bert_config.json")
            config = json.loads((folder / "config.json").read_text())
        except (OSError, ValueError) as exc:
            raise NotExportable(f"not a sentence-transformers folder: {exc}") from exc
        pooling: tuple[str, ...] = ()
        normalize = False
        for i, m in enumerate(sorted(modules, key=lambda m: m.get("idx", 0))):
            kind = str(m.get("type", ""))
            if kind not in KNOWN_MODULES:
                raise NotExportable(f"module {kind.rsplit('.', 1)[-1]!r} is not supported")
            name = kind.rsplit(".", 1)[-1]
            if name == "Transformer" and (i != 0 or m.get("path", "")):
                raise NotExportable("the Transformer module is not the folder's first module")
            if name == "Pooling":
                pooling = _pooling_modes(folder / str(m.get("path", "")) / "config.json")
            if name == "Normalize":
                normalize = True
        if not pooling:
            raise NotExportable("no Pooling module")
        if not (folder / "tokenizer.json").is_file():
            raise NotExportable("no tokenizer.json")
        max_len = sbert.get("max_seq_length")
        if max_len is None:
            tok_cfg = _json_or_empty(folder / "tokenizer_config.json")
            max_len = min(int(tok_cfg.get("model_max_length", 10**6)),
                          int(config.get("max_position_embeddings", 512)))
        return cls(folder, pooling, normalize, int(max_len), bool(sbert.get("do_lower_case")))


def _json_or_empty(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _pooling_modes(path: Path) -> tuple[str, ...]:
    try:
        cfg = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise NotExportable(f"pooling config unreadable: {exc}") from exc
    for other in ("weightedmean", "lasttoken"):
        if cfg.get(f"pooling_mode_{other}_tokens") or cfg.get(f"pooling_mode_{other}"):
            raise NotExportable(f"{other} pooling is not supported")
    modes = tuple(m for m in _POOL_ORDER
                  if cfg.get(f"pooling_mode_{m}_token") or cfg.get(f"pooling_mode_{m}_tokens"))
    return modes


def model_files(folder: Path) -> list[Path]:
    """The files whose bytes decide the vectors, in a fixed order (the checksum's input)."""
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.name not in _NOT_MODEL and ".git" not in p.parts
        and p.relative_to(folder).parts[0] not in ("onnx", "openvino")
    )


def fingerprint(
    files: Sequence[Path], folder: Path, *, ctime: bool = False
) -> dict[str, list[int]]:
    """Size and mtime of each file: unchanged means the checksum recorded with it holds.

    `ctime` adds the inode's change time, which no tool can set back: a model replaced by
    one whose files keep the old sizes and mtimes (a same-architecture upgrade from a
    reproducible build or an archive, mtimes clamped) is hashed again rather than trusted.
    The export's own files go without it, so their probe stays the guard it is tested as."""
    out = {}
    for p in files:
        st = p.stat()
        rel = str(p.relative_to(folder))
        out[rel] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns] if ctime else [
            st.st_size, st.st_mtime_ns]
    return out


def model_checksum(folder: Path, files: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for p in files:
        h.update(str(p.relative_to(folder)).encode() + b"\0")
        with p.open("rb") as f:
            h.update(hashlib.file_digest(f, "sha256").digest())
    return h.hexdigest()


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class OnnxEncoder:
    """A loaded ONNX sentence encoder; `encode` mirrors sentence-transformers' signature for
    the arguments askdesk passes (texts, batch_size, normalize_embeddings)."""

    def __init__(self, recipe: Recipe, model: bytes | Path, *, threads: int | None) -> None:
        # no usage telemetry from a self-hosted bot; unset, onnxruntime also warns on stderr
        # wherever $HOME is read-only (a locked-down container)
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        # lean: onnxruntime, tokenizers load on first use, not at import: `--help` and
        # commands that embed nothing skip their 0.2 s and ~50 MB (base dependencies)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or 0
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # no arena: its blocks, sized by the largest batch run so far (the load probe's long
        # text, an indexing batch), stay reserved for the process's life; freed after each run
        # instead, a cold `askdesk ask` peaks ~11 MB lower, vectors bit-identical
        # (BENCHMARKS.md, issue 23)
        opts.enable_cpu_mem_arena = False
        source = str(model) if isinstance(model, Path) else model
        # the graph file, next to the weights onnxruntime memory-maps (None: all in memory)
        self.weights = model if isinstance(model, Path) else None
        self.session = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
        self.recipe = recipe
        tok = Tokenizer.from_file(str(recipe.folder / "tokenizer.json"))
        tok.enable_truncation(recipe.max_seq_length)
        tok.no_padding()  # padded here, per batch, to the batch's longest text
        self.tokenizer = tok
        self.dimension = int(self.session.get_outputs()[0].shape[-1]) * len(recipe.pooling)

    def get_embedding_dimension(self) -> int:
        return self.dimension

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        **_: Any,
    ) -> np.ndarray:
        texts = [str(t).strip() for t in texts]
        if self.recipe.do_lower_case:
            texts = [t.lower() for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        # longest first, as sentence-transformers batches: similar lengths share a batch
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        for start in range(0, len(order), max(batch_size, 1)):
            rows = order[start : start + batch_size]
            out[rows] = self._batch([encodings[i] for i in rows])
        if normalize_embeddings or self.recipe.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out /= np.maximum(norms, 1e-12)
        return out

    def _batch(self, encodings: list[Any]) -> np.ndarray:
        n, width = len(encodings), max(len(e.ids) for e in encodings)
        ids = np.zeros((n, width), np.int64)
        types = np.zeros((n, width), np.int64)
        mask = np.zeros((n, width), np.int64)
        for r, e in enumerate(encodings):
            k = len(e.ids)
            ids[r, :k], types[r, :k], mask[r, :k] = e.ids, e.type_ids, e.attention_mask
        positions = np.ascontiguousarray(np.broadcast_to(np.arange(width, dtype=np.int64),
                                                         (n, width)))
        bias = ((1 - mask)[:, None, None, :] * np.finfo(np.float32).min).astype(np.float32)
        (hidden,) = self.session.run(None, dict(zip(INPUTS, (ids, types, positions, bias),
                                                     strict=True)))
        return _pool(hidden, mask, self.recipe.pooling)


def _pool(hidden: np.ndarray, mask: np.ndarray, modes: Sequence[str]) -> np.ndarray:
    m = mask[..., None].astype(np.float32)
    parts = []
    for mode in modes:
        if mode == "cls":
            parts.append(hidden[:, 0])
        elif mode == "max":
            parts.append(np.where(m > 0, hidden, -1e9).max(axis=1))
        else:
            summed = (hidden * m).sum(axis=1)
            count = np.clip(m.sum(axis=1), 1e-9, None)
            parts.append(summed / (count if mode == "mean" else np.sqrt(count)))
    return np.concatenate(parts, axis=1)


class OnnxCache:
    """DATA_DIR/models/embed-onnx: one folder per model checksum holding `model.onnx` (the
    graph), `model.onnx.data` (the weights, memory-mapped) and `manifest.json`.

    `root=None` (a library user with no data dir) exports in memory on every load."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def load(self, folder: Path, *, threads: int | None) -> OnnxEncoder:
        """The encoder for `folder`, from the cache when a valid export is there, else
        exported now. Raises NotExportable (the caller falls back to sentence-transformers)."""
        enc = self._load(folder, threads=threads)
        if enc.weights is not None:
            # the probe read windows of the word-embedding table: give them back to the OS
            page_out(enc.weights.parent)
        return enc

    def _load(self, folder: Path, *, threads: int | None) -> OnnxEncoder:
        recipe = Recipe.read(folder)
        files = model_files(folder)
        stats = fingerprint(files, folder, ctime=True)
        if self.root is None:
            return self._in_memory(recipe, threads)
        tried = self._entry_for(folder, stats)
        if tried is not None:
            enc = self._open(tried, recipe, threads)
            if enc is not None:
                return enc
        key = model_checksum(folder, files)
        entry = self.root / key[:24]
        try:
            with self._lock(entry):
                # another process may have exported it while this one waited; a bad entry
                # already reported above is not reported again
                enc = self._open(entry, recipe, threads, model_checksum=key, stats=stats,
                                 quiet=entry == tried)
                if enc is not None:
                    return enc
                enc = self._export(entry, recipe, threads, key, stats)
        except OSError as exc:  # read-only or full disk, a lock held too long (TimeoutError)
            log.warning(
                "embedding export cache unusable: exporting in memory for this process",
                extra={"cache": str(self.root), "reason": _reason(exc)},
            )
            return self._in_memory(recipe, threads)
        self._prune(str(folder), keep=entry)
        return enc

    # -- reading ------------------------------------------------------------------------
    def _manifests(self) -> list[Path]:
        """The finished entries' manifests (an export in progress lives in a dot-folder)."""
        assert self.root is not None
        return [m for m in self.root.glob("*/manifest.json")
                if not m.parent.name.startswith(".")]

    def _entry_for(self, folder: Path, stats: dict[str, list[int]]) -> Path | None:
        """The cache folder recorded for exactly these files (sizes and mtimes): the fast path
        that skips hashing the weights on every start."""
        if not self.root or not self.root.is_dir():
            return None
        for manifest in self._manifests():
            m = _json_or_empty_safe(manifest)
            if m.get("format") == FORMAT and m.get("source") == str(folder) \
                    and m.get("files") == stats:
                return manifest.parent
        return None

    def _open(
        self,
        entry: Path,
        recipe: Recipe,
        threads: int | None,
        *,
        model_checksum: str | None = None,
        stats: dict[str, list[int]] | None = None,
        quiet: bool = False,
    ) -> OnnxEncoder | None:
        """The cached encoder if the entry is whole and right, else None (said once)."""
        say = log.debug if quiet else log.warning
        manifest_path = entry / "manifest.json"
        m = _json_or_empty_safe(manifest_path)
        if not m or m.get("format") != FORMAT:
            return None
        if model_checksum and m.get("model_checksum") != model_checksum:
            return None
        recorded = m.get("export") or {}
        try:
            now = fingerprint([entry / name for name in sorted(recorded)], entry)
        except OSError:
            now = {}
        if not recorded or set(now) != set(recorded):
            say(f"cached ONNX export in {entry} is incomplete; rebuilding")
            return None
        if any(now[n] != recorded[n]["stat"] for n in now):
            bad = [n for n in now if now[n][0] != recorded[n]["size"]
                   or _sha256(entry / n) != recorded[n]["sha256"]]
            if bad:
                say(f"cached ONNX export {entry / bad[0]} is corrupt (checksum mismatch); "
                    "rebuilding")
                return None
            for n in now:  # same bytes, touched: remember the new stats
                recorded[n]["stat"] = now[n]
            _write_json_quietly(manifest_path, m)
        try:
            enc = OnnxEncoder(recipe, entry / GRAPH_FILE, threads=threads)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
            say(f"cached ONNX export in {entry} unreadable ({_reason(exc)}); rebuilding")
            return None
        if not _probe_matches(enc, m.get("probe")):
            say(f"cached ONNX export in {entry} gives other vectors than at export; rebuilding")
            return None
        if stats is not None and (m.get("files") != stats or m.get("source") != str(
                recipe.folder)):  # the same model's files, touched or moved
            m["files"], m["source"] = stats, str(recipe.folder)
            _write_json_quietly(manifest_path, m)
        return enc

    # -- writing ------------------------------------------------------------------------
    def _export(
        self, entry: Path, recipe: Recipe, threads: int | None, key: str,
        stats: dict[str, list[int]],
    ) -> OnnxEncoder:
        """Export into a private folder, then swap it in: readers see the old entry, none,
        or the new one whole (the manifest is written last, inside the private folder)."""
        t = time.perf_counter()
        model = build_model(recipe.folder)
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            written = save_with_external_weights(model, tmp)
            for path in written:
                with path.open("rb") as f:
                    os.fsync(f.fileno())
            enc = OnnxEncoder(recipe, tmp / GRAPH_FILE, threads=threads)
            stat = fingerprint(written, tmp)
            manifest = {
                "format": FORMAT,
                "source": str(recipe.folder),
                "model_checksum": key,
                "files": stats,
                "export": {p.name: {"size": p.stat().st_size, "sha256": _sha256(p),
                                    "stat": stat[p.name]} for p in written},
                "probe": enc.encode(PROBE, normalize_embeddings=True).tolist(),
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            _atomic_write(tmp / "manifest.json", json.dumps(manifest).encode())
            old = entry.with_name(f".{entry.name}.{os.getpid()}.old")
            if entry.exists():
                os.replace(entry, old)
            os.replace(tmp, entry)  # renames keep mtimes: the recorded stats still hold
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # the session mapped the weights under the temporary name: reopen them at their home
        enc = OnnxEncoder(recipe, entry / GRAPH_FILE, threads=threads)
        log.info("embedding model exported to ONNX",
                 extra={"path": str(entry), "seconds": round(time.perf_counter() - t, 1)})
        return enc

    def _in_memory(self, recipe: Recipe, threads: int | None) -> OnnxEncoder:
        return OnnxEncoder(recipe, serialise(build_model(recipe.folder)), threads=threads)

    def _prune(self, source: str, keep: Path) -> None:
        """Drop exports of earlier contents of the same model folder (~90 MB each)."""
        assert self.root is not None
        for manifest in self._manifests():
            if manifest.parent != keep and _json_or_empty_safe(manifest).get("source") == source:
                shutil.rmtree(manifest.parent, ignore_errors=True)

    @contextlib.contextmanager
    def _lock(self, entry: Path) -> Iterator[None]:
        """One exporter per model at a time, across processes (others wait, then read it)."""
        assert self.root is not None
        self.root.mkdir(parents=True, exist_ok=True)
        path = entry.with_name(entry.name + ".lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                # optional: fcntl (POSIX only): elsewhere exports race to an atomic rename
                import fcntl  # POSIX only: elsewhere exports simply race to an atomic rename
            except ImportError:
                fcntl = None
            if fcntl is not None:
                deadline = time.monotonic() + LOCK_WAIT_S
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise TimeoutError(f"another process holds {path}") from None
                        time.sleep(0.1)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _probe_matches(enc: OnnxEncoder, expected: Any) -> bool:
    try:
        want = np.asarray(expected, dtype=np.float32)
        got = enc.encode(PROBE, normalize_embeddings=True)
        return want.shape == got.shape and bool((np.sum(want * got, axis=1)
                                                 >= PROBE_MIN_COSINE).all())
    except (TypeError, ValueError):
        return False


def _json_or_empty_safe(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_json_quietly(path: Path, data: dict[str, Any]) -> None:
    """Refresh a manifest's recorded stats; on a read-only disk the next load re-checks."""
    with contextlib.suppress(OSError):
        _atomic_write(path, json.dumps(data).encode())


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
