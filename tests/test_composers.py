"""Choosing the composer: `answer_backend` names a built-in or an installed entry point.

Entry points are real: a `*.dist-info` folder with an `entry_points.txt` on sys.path, read by
importlib.metadata (in this process, and through the CLI in a subprocess).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from askdesk.composers import BUILTINS, ComposerError, build_composer, known_backends
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine
from askdesk.core.types import Question, Turn
from askdesk.settings import Settings
from askdesk.wiring import App

PLUGIN = '''
"""A third-party composer: upper-cases the extractive quote; quotes follow-ups as they are."""
from dataclasses import replace


class Shout:
    name = "shout"
    version = "shout-1"

    def __init__(self, settings, fallback):
        self.settings = settings
        self.fallback = fallback

    def compose(self, question, hits, query_vector=None, unmatched_terms=None):
        c = self.fallback.compose(question, hits, query_vector, unmatched_terms)
        if question.history:
            return replace(c, note="shout: follow-ups are quoted as they are")
        return replace(c, text=c.text.upper(), composer=self.name)


def build(settings, fallback):
    return Shout(settings, fallback)


def broken(settings, fallback):
    raise RuntimeError("no licence key\\nsecond line")
'''
ENTRY_POINTS = """
[askdesk.composers]
shout = askdesk_shout:build
broken = askdesk_shout:broken
missing = askdesk_not_there:build
extractive = askdesk_shout:build
"""


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    """A folder laid out like site-packages with one installed distribution."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "askdesk_shout.py").write_text(PLUGIN)
    info = site / "askdesk_shout-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: askdesk-shout\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(ENTRY_POINTS))
    return site


@pytest.fixture
def installed(plugin_dir: Path, monkeypatch) -> Path:
    monkeypatch.syspath_prepend(str(plugin_dir))
    importlib.invalidate_caches()
    yield plugin_dir
    sys.modules.pop("askdesk_shout", None)


def settings(tmp_path: Path, **kw) -> Settings:
    return Settings(data_dir=tmp_path / "data", **kw)


def test_the_default_is_the_extractive_composer_configured_by_the_settings(tmp_path):
    s = settings(tmp_path, docs_url_template="https://docs.example.com/{path}")
    assert s.answer_backend == "extractive"
    engine = App(s).engine(record=False)
    assert isinstance(engine.composer, ExtractiveComposer)
    assert engine.composer.url_template == s.docs_url_template == engine.config.url_template
    assert known_backends()[:2] == ["extractive", "llm"]


def test_an_unknown_name_is_one_line_listing_the_known_ones(tmp_path):
    s = settings(tmp_path, answer_backend=" Quoting ")
    assert s.answer_backend == "quoting"
    with pytest.raises(ComposerError) as err:
        App(s).engine()
    assert str(err.value) == "unknown answer_backend 'quoting' (known: extractive, llm)"


def test_llm_without_its_module_says_it_is_not_installed(tmp_path, monkeypatch):
    # as if the module were absent
    monkeypatch.setitem(sys.modules, "askdesk.core.llm_compose", None)
    with pytest.raises(ComposerError, match=r"^the llm backend is not installed$"):
        App(settings(tmp_path, answer_backend="llm")).engine()


def test_an_installed_entry_point_composes_the_answers(installed, tmp_path, sample_searcher):
    assert known_backends() == [*BUILTINS, "broken", "missing", "shout"]
    s = settings(tmp_path, answer_backend="shout")
    composer = App(s).composer()
    assert composer.name == "shout" and composer.settings is s
    assert isinstance(composer.fallback, ExtractiveComposer)

    engine = AnswerEngine(sample_searcher, composer)
    ans = engine.answer(Question("How do I rotate my API key?"))
    assert not ans.unanswered and ans.text == ans.text.upper() and "[1]" in ans.text
    assert ans.composer == "shout" and ans.composer_note is None
    assert ans.versions["composer"] == "shout-1"

    follow = engine.answer(
        Question("and how long does the old one keep working?", history=(Turn("keys?", "…"),))
    )
    assert follow.composer == "extractive"
    assert follow.composer_note == "shout: follow-ups are quoted as they are"


def test_a_built_in_name_cannot_be_taken_by_an_entry_point(installed, tmp_path):
    assert isinstance(App(settings(tmp_path)).composer(), ExtractiveComposer)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("broken", "answer_backend 'broken' failed to start: no licence key"),
        (
            "missing",
            "answer_backend 'missing' (askdesk_not_there:build) could not be loaded: "
            "No module named 'askdesk_not_there'",
        ),
    ],
)
def test_a_failing_entry_point_is_one_line(installed, tmp_path, name, message):
    s = settings(tmp_path, answer_backend=name)
    with pytest.raises(ComposerError) as err:
        build_composer(s, ExtractiveComposer())
    assert str(err.value) == message


def _cli(*args: str, cwd: Path, path: Path | None = None, **env: str):
    full = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    if path is not None:
        full["PYTHONPATH"] = os.pathsep.join(p for p in (str(path), full.get("PYTHONPATH")) if p)
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "askdesk", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_cli_stops_at_start_on_an_unknown_backend(tmp_path):
    r = _cli("ask", "how do I rotate a key", cwd=tmp_path, ASKDESK_ANSWER_BACKEND="nope")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == "error: unknown answer_backend 'nope' (known: extractive, llm)"
    status = _cli("status", "--json", cwd=tmp_path, ASKDESK_ANSWER_BACKEND="nope")
    info = json.loads(status.stdout)
    assert (
        info["answer_backend"] == "nope"
        and "known: extractive, llm" in (info["answer_backend_error"])
    )


def test_cli_answers_with_an_installed_composer_and_says_which(plugin_dir, tmp_path, sample_index):
    env = {
        "ASKDESK_ANSWER_BACKEND": "shout",
        "ASKDESK_DATA_DIR": str(tmp_path / "data"),
        "ASKDESK_LANCEDB_URI": str(sample_index[0].uri),
    }
    r = _cli(
        "ask",
        "--json",
        "--no-record",
        "How do I rotate my API key?",
        cwd=tmp_path,
        path=plugin_dir,
        **env,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["composer"] == "shout" and out["composer_note"] is None
    assert out["answer"] == out["answer"].upper() and "trace" not in out
    status = _cli("status", cwd=tmp_path, path=plugin_dir, **env)
    assert "Answers: shout" in status.stdout, status.stderr
