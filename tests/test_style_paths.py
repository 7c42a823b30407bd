"""Paths that travel: a style version, its base model and the data dir mean the same folders
from any working directory, and after the data dir is moved (issue 12, part 4)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from askdesk.styling.generation.rewrite import StyleRewriter
from askdesk.styling.model.base import DEFAULT_BASE_MODEL, base_model_for, stored_base_model
from askdesk.styling.training.fine_tune import STYLE_FILE, TrainConfig, train_style_model
from tests.test_style_model import build_tiny_base


def _cli(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    return subprocess.run(
        [sys.executable, "-m", "askdesk", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_a_version_trained_from_a_relative_base_loads_from_any_directory(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    build_tiny_base(work / "base")
    monkeypatch.chdir(work)
    pairs = [("Rotate the key in Settings.", "Hey there! 👋\nRotate the key in Settings.")] * 2
    cfg = TrainConfig(max_steps=1, batch_size=2, eval_every=1, warmup_steps=0, threads=1)
    result = train_style_model(pairs, pairs[:1], Path("data/style"), "base", cfg)
    stored = json.loads((work / result.folder / STYLE_FILE).read_text())["base_model"]
    assert Path(stored).is_absolute() and Path(stored) == (work / "base").resolve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rewriter = StyleRewriter(work / result.folder, time_budget_s=5).load()
    assert rewriter._model is not None


def test_an_older_relative_base_path_is_found_in_the_data_dir_not_the_cwd(tmp_path, monkeypatch):
    """The demo bug: style.json said `.askdesk/demo/models/<x>`, relative to the folder the
    demo ran in. The data dir holding the version is where it is looked up now."""
    data = tmp_path / "moved-data"
    version = data / "style" / "v1"
    version.mkdir(parents=True)
    base = data / "models" / "tiny"
    base.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert base_model_for("models/tiny", version, None) == str(base)
    # a relative path to the packaged model's converted copy is taken for its label
    cache = data / "models" / DEFAULT_BASE_MODEL
    cache.mkdir()
    (cache / "config.json").write_text("{}")
    old = f".askdesk/demo/models/{DEFAULT_BASE_MODEL}"
    assert base_model_for(old, version, None) == str(cache)
    with pytest.raises(Exception, match="not next to"):
        base_model_for("./gone/folder", version, None)
    assert base_model_for("org/hub-model", version, None) == "org/hub-model"


def test_the_packaged_base_is_stored_by_its_label(tmp_path):
    assert stored_base_model(str(tmp_path), DEFAULT_BASE_MODEL) == DEFAULT_BASE_MODEL
    assert stored_base_model(DEFAULT_BASE_MODEL) == DEFAULT_BASE_MODEL
    assert stored_base_model(str(tmp_path / "." / "x"), None) == str(tmp_path / "." / "x")
    (tmp_path / "m").mkdir()
    assert stored_base_model(str(tmp_path / "m" / ".." / "m")) == str(tmp_path / "m")


def test_the_data_dir_setting_is_absolute(env, monkeypatch):
    from askdesk.settings import Settings

    monkeypatch.setenv("ASKDESK_DATA_DIR", "rel/data")
    assert Settings().data_dir == env / "rel" / "data"


def test_style_use_a_folder_writes_its_absolute_path(env, tmp_path, monkeypatch):
    from askdesk.settings import Settings
    from askdesk.upkeep.retrain import activate_version
    from askdesk.wiring import App

    folder = tmp_path / "elsewhere" / "v9"
    folder.mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "elsewhere")
    app = App(Settings())
    activate_version(app, "v9")  # a relative folder, not a version under DATA_DIR/style
    assert (app.style_root / "active").read_text().strip() == str(folder)
    assert app.data_relative(app.style_root / "v9") == "style/v9"


@pytest.mark.slow
def test_style_use_sample_then_rewrite_from_another_folder_after_moving_the_data_dir(tmp_path):
    """`style use sample` in a relative data dir, the data dir moved, then `style rewrite`
    from a third folder: the real SmolLM2 sample voice loads and rewrites (before: OSError
    "Repo id must be in the form …" and the draft silently kept)."""
    first = tmp_path / "project"
    first.mkdir()
    r = _cli("--data-dir", "rel/data", "style", "use", "sample", cwd=first)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "active style model: sample-v1" in r.stdout
    data = first / "rel" / "data"
    style = json.loads((data / "style" / "sample-v1" / STYLE_FILE).read_text())
    assert style["base_model"] == DEFAULT_BASE_MODEL  # a label, never a cwd-relative path
    assert (data / "style" / "active").read_text().strip() == "sample-v1"

    moved = tmp_path / "moved"
    shutil.move(str(data), moved)
    other = tmp_path / "other"
    other.mkdir()
    draft = "Webhook deliveries are retried 8 times over 24 hours. See the delivery log [1]."
    r = _cli("--data-dir", str(moved), "style", "rewrite", draft, cwd=other)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "model error" not in r.stderr and "Repo id" not in r.stderr, r.stderr[-2000:]
    assert "[sample-v1]" in r.stderr
    # a draft passed through before any generation is printed as it stands, not as a blank
    table = "| Plan | Seats |\n|---|---|\n| Team | 10 |"
    r = _cli("--data-dir", str(moved), "style", "rewrite", table, cwd=other)
    assert r.returncode == 0 and r.stdout.strip() == table, r.stdout
    assert "passed through: a Markdown table" in r.stderr
    # a second `use sample` in the same data dir only activates, nothing reinstalled
    r = _cli("--data-dir", str(moved), "style", "use", "sample", cwd=other)
    assert r.returncode == 0 and "sample-v1" in r.stdout
