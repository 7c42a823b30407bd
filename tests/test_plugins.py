"""The extension surface: `askdesk.plugins`, its entry-point groups, and third-party plugins.

The plugins under tests/plugins/ are separate distributions: each is installed with
`pip install --target` into a temporary folder (a real dist-info with its entry points, read
by importlib.metadata) and driven end to end: a composer answers over the sample index, a
chat surface answers a question over loopback TCP and takes a 👎 with its reason through the
delivery core, a tone scorer scores the answers.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from askdesk.core.types import Question
from askdesk.registry import (
    COMPOSERS,
    EXTENSION_POINTS,
    SURFACES,
    TONE_SCORERS,
    known,
    registered,
)
from askdesk.settings import Settings
from askdesk.surfaces import SurfaceHost, runner
from askdesk.wiring import App

REPO = Path(__file__).resolve().parent.parent
PLUGINS = REPO / "tests" / "plugins"
PACKAGES = sorted(p for p in PLUGINS.iterdir() if (p / "pyproject.toml").exists())
QUESTION = "How do I rotate my API key?"
PRODUCT = ("askdesk", "bots", "core", "retrieval", "styling", "feedback", "dashboard")


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at any depth (inside functions too)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


# -- the registry and pyproject agree ---------------------------------------------------------
def test_pyproject_declares_exactly_the_built_ins_the_registry_lists():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]
    groups = {g for g in declared if g.startswith("askdesk.")}
    assert groups == {p.group for p in EXTENSION_POINTS}
    for point in EXTENSION_POINTS:
        assert declared[point.group] == dict(point.builtins), point.group
        for name in point.builtin_names():
            assert callable(registered(point)[name].load()), name


def test_the_public_module_names_every_extension_point():
    plugins = importlib.import_module("askdesk.plugins")
    assert plugins.EXTENSION_POINTS == EXTENSION_POINTS
    for point in EXTENSION_POINTS:
        assert point.group in plugins.__doc__
    missing = [n for n in plugins.__all__ if not hasattr(plugins, n)]
    assert not missing


def test_plugin_packages_import_nothing_of_askdesk_but_askdesk_plugins():
    names = [p.name for p in PACKAGES]
    assert {"askdesk-brevity", "askdesk-firstline", "askdesk-linechat"} <= set(names)
    for package in PACKAGES:
        files = list(package.rglob("*.py"))
        assert files
        for f in files:
            ours = [m for m in _imports(f) if m.split(".")[0] in PRODUCT]
            assert ours and set(ours) == {"askdesk.plugins"}, (f, ours)
        groups = tomllib.loads((package / "pyproject.toml").read_text())["project"]["entry-points"]
        assert set(groups) <= {p.group for p in EXTENSION_POINTS}, package


def test_the_product_never_imports_askdesk_testing():
    offenders = []
    for top in PRODUCT:
        for f in (REPO / top).rglob("*.py"):
            if "testing" in f.relative_to(REPO).parts or "sample" in f.parts:
                continue
            if any(m.startswith("askdesk.testing") for m in _imports(f)):
                offenders.append(str(f.relative_to(REPO)))
    assert offenders == []


# -- the third-party packages, installed ------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The three packages installed (`pip install --target`, no network) into one folder."""
    target = tmp_path_factory.mktemp("site")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), *map(str, PACKAGES)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return target


@pytest.fixture
def installed(site, monkeypatch) -> Path:
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield site
    for name in ("askdesk_firstline", "askdesk_linechat", "askdesk_brevity"):
        sys.modules.pop(name, None)


def test_installed_plugins_are_found_through_their_entry_points(installed):
    assert {ep.name for ep in entry_points(group="askdesk.surfaces")} >= {"linechat"}
    assert known(COMPOSERS)[-1] == "firstline"
    # (the source type package is installed by tests/test_source_plugin.py)
    mine = ((COMPOSERS, "firstline"), (SURFACES, "linechat"), (TONE_SCORERS, "brevity"))
    for point, name in mine:
        ep = registered(point)[name]
        assert ep.dist is not None and ep.dist.name.startswith("askdesk-"), ep
        assert known(point)[: len(point.builtins)] == point.builtin_names()


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def _settings(tmp_path: Path, sample_index, **kw) -> Settings:
    return Settings(data_dir=tmp_path / "data", lancedb_uri=str(sample_index[0].uri), **kw)


def test_a_third_party_composer_answers_a_real_question(installed, tmp_path, sample_index):
    app = App(_settings(tmp_path, sample_index, answer_backend="firstline"))
    engine = app.engine(record=False)
    ans = engine.answer(Question("How do I rotate my API key?"))
    assert ans.composer == "firstline" and not ans.unanswered, ans.text
    assert ans.text.endswith("[1]") and ans.text.count("\n") == 0
    assert len(ans.sources) == 1 and ans.sources[0].n == 1
    page = (sample_index[1] / ans.sources[0].path).read_text()
    assert "rotate" in ans.text.lower() or "api key" in ans.text.lower()
    assert _words(ans.text.removesuffix("[1]"))[:60] in _words(page)  # quoted from the page

    off = engine.answer(Question("What is the capital of Mongolia's second moon?"))
    assert off.unanswered and off.composer != "firstline"


def test_a_third_party_tone_scorer_is_chosen_by_the_setting(installed, tmp_path, sample_index):
    tone = App(_settings(tmp_path, sample_index, tone_scorer="brevity")).tone_scorer()
    assert tone is not None and tone.version == "brevity-0.1"
    assert tone.score("Yes.") > 0.9 > 0.5 > tone.score("word " * 100)
    assert App(_settings(tmp_path, sample_index, tone_scorer="nope")).tone_scorer() is None


class Client:
    """The linechat platform's client side: JSON lines over one TCP connection."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.file = self.sock.makefile("rwb")

    def send(self, **event) -> None:
        self.file.write((json.dumps(event) + "\n").encode())
        self.file.flush()

    def until(self, kind: str) -> tuple[dict, list[dict]]:
        seen = []
        while True:
            line = self.file.readline()
            assert line, f"connection closed before a {kind!r} (saw {seen})"
            event = json.loads(line)
            seen.append(event)
            if event["type"] == kind:
                return event, seen


def test_a_third_party_chat_surface_answers_and_takes_votes(installed, tmp_path, sample_index):
    app = App(_settings(tmp_path, sample_index))
    lines: list[str] = []
    up = threading.Event()

    def announce(line: str) -> None:
        lines.append(line)
        up.set()

    host = SurfaceHost(app, "linechat", {"port": "0"}, announce=announce)
    serving = threading.Thread(target=runner("linechat"), args=(host,), daemon=True)
    serving.start()
    try:
        assert up.wait(120), "linechat never announced it was listening"
        port = int(lines[0].rsplit(":", 1)[1])
        client = Client(port)
        client.send(type="message", id="m1", user="U1", channel="help", text=QUESTION)
        post, before = client.until("post")
        assert {"type": "react", "message": "m1", "emoji": "eyes", "on": True} in before
        assert post["votes"] and post["answer_id"] and "[1]" in post["text"]
        assert post["sources"] and post["sources"][0]["path"].endswith(".md")
        iid = post["answer_id"]
        done, _ = client.until("react")  # 👀 off: the answer is posted and linked
        assert done == {"type": "react", "message": "m1", "emoji": "eyes", "on": False}
        row = app.store.interactions.get(iid)
        assert row["platform"] == "linechat" and row["answer_ref"] == f"help:{post['id']}"

        client.send(type="message", id="m1", user="U1", channel="help", text=QUESTION)
        client.send(type="vote", user="U1", answer=iid, value="down")
        notice, seen = client.until("notice")
        assert not [e for e in seen if e["type"] == "post"], "a redelivery was answered twice"
        assert notice["choices"] == ["wrong_facts", "not_in_docs", "tone_format", "other"]
        client.send(type="reason", user="U1", answer=iid, reason="not_in_docs")
        noted, _ = client.until("notice")
        assert noted["text"].startswith("Thanks — noted")
        votes = app.store.interactions.votes_for(iid)
        assert [(v["value"], v["reason"]) for v in votes][-1] == (-1, "not_in_docs")
    finally:
        host.stopping.set()
        serving.join(30)
    assert not serving.is_alive()


def _cli(*args: str, site: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])
    env["ASKDESK_DATA_DIR"] = str(cwd / "data")
    return subprocess.run(
        [sys.executable, "-m", "askdesk", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_the_cli_lists_and_names_surfaces(site, tmp_path):
    listed = _cli("chat", "--list", site=site, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["slack", "discord", "http", "linechat"]
    wrong = _cli("chat", "linechat2", site=site, cwd=tmp_path)
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.strip() == (
        "error: unknown chat surface 'linechat2' (did you mean 'linechat'? "
        "known: slack, discord, http, linechat)"
    )


def test_the_built_in_surfaces_run_through_the_same_registry(site, tmp_path):
    """`askdesk chat discord|http` reach the built-ins' own start checks (one line each)."""
    discord = _cli("chat", "discord", site=site, cwd=tmp_path)
    assert discord.returncode == 2
    assert discord.stderr.startswith("error: DISCORD_BOT_TOKEN is not set"), discord.stderr
    http = _cli("chat", "http", "-o", "port=notanumber", site=site, cwd=tmp_path)
    assert http.returncode == 2
    assert http.stderr.strip() == "error: chat surface 'http': port must be a number"
    keys = _cli("chat", "http", "-o", "port=0", site=site, cwd=tmp_path)
    assert keys.returncode == 2 and keys.stderr.startswith("error: no HTTP API keys")


def test_config_check_names_an_unknown_tone_scorer(site, tmp_path):
    (tmp_path / "askdesk.toml").write_text('tone_scorer = "brevty"\n')
    r = _cli("config", "check", site=site, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "error: unknown tone_scorer 'brevty' (did you mean 'brevity'? known: logistic, brevity)"
    )


@pytest.mark.slow
def test_askdesk_chat_runs_an_installed_surface_end_to_end(site, tmp_path, sample_index):
    """The command a team runs: `askdesk chat linechat`, a question over TCP, SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), str(REPO)]),
        ASKDESK_DATA_DIR=str(tmp_path / "data"),
        ASKDESK_LANCEDB_URI=str(sample_index[0].uri),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "askdesk", "chat", "linechat", "-o", "port=0"],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        line = ""
        while "linechat on" not in line:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "askdesk chat exited before listening"
        client = Client(int(line.strip().rsplit(":", 1)[1]))
        client.send(type="message", id="q1", user="U9", channel="help", text=QUESTION)
        post, _ = client.until("post")
        assert post["answer_id"] and post["sources"] and "[1]" in post["text"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
