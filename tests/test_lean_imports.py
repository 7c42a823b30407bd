"""Answering never imports torch: real `askdesk` processes, fresh interpreters, checked by
the modules they actually imported (PYTHONPROFILEIMPORTTIME), not by reading code.

The rule (askdesk/testing/lean_runs.py, README "Installs"): ask, search, status, the bots, the
dashboard and the HTTP surfaces leave torch, transformers, sentence-transformers, peft and
accelerate out unless the style model is enabled for them. New code is caught here at merge:
`test_no_module_imports_heavy_packages_at_import_time` imports every module of every layer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TINY_DOCS, write

from askdesk.testing.fake_slack import FakeSlackAPI
from askdesk.testing.lean_runs import (
    HEAVY,
    MIGRATION_ONLY,
    ROOT,
    clean_env,
    free_port,
    heavy_in,
    run_cli,
    start,
    start_slack_http,
    wait_for_port,
)
from askdesk.testing.slack_payloads import SlackSender, mention
from tests.waiting import wait_until

# the shell and each layer package (in a checkout the layers are not under askdesk/)
LAYERS = (
    "askdesk",
    "askdesk.bots",
    "askdesk.core",
    "askdesk.dashboard",
    "askdesk.feedback",
    "askdesk.retrieval",
    "askdesk.styling",
)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Iterator[Path]:
    """A data dir holding an index of the tiny docs, made by `askdesk index` (lean too)."""
    base = tmp_path_factory.mktemp("lean")
    docs = base / "docs"
    for rel, text in TINY_DOCS.items():
        write(docs, rel, text)
    data = base / "data"
    run = run_cli(data, "index", str(docs))
    assert run.returncode == 0, run.said
    assert run.heavy == [], f"askdesk index imported {run.heavy}"
    yield data


def test_no_module_imports_heavy_packages_at_import_time() -> None:
    """Every module of every layer, imported in one fresh interpreter: none pulls in torch
    and friends at import time (styling's modules import them inside their functions)."""
    script = f"""
import importlib, json, pkgutil, sys
heavy = {HEAVY!r}
found = {{}}
for layer in {LAYERS!r}:
    pkg = importlib.import_module(layer)
    for info in pkgutil.walk_packages(pkg.__path__, layer + "."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
        now = sorted(h for h in heavy if h in sys.modules)
        if now and not found:
            found[info.name] = now
print(json.dumps(found))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
        env=clean_env(ROOT / ".askdesk-unused"), timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {}


def test_ask_search_and_status_leave_torch_out(indexed: Path) -> None:
    ask = run_cli(indexed, "ask", "How long does an old API key keep working?")
    assert ask.returncode == 0, ask.said
    assert "24 hours" in ask.stdout  # a real answer came back, from the real index
    assert ask.heavy == [], f"askdesk ask imported {ask.heavy}"

    search = run_cli(indexed, "search", "webhook retries", "--json")
    assert search.returncode == 0, search.said
    assert "retries" in search.stdout
    assert search.heavy == [], f"askdesk search imported {search.heavy}"

    status = run_cli(indexed, "status")
    assert status.returncode == 0, status.said
    assert status.heavy == [], f"askdesk status imported {status.heavy}"


def test_ask_on_a_current_database_leaves_the_migration_tools_out(indexed: Path) -> None:
    """`askdesk index` left the database at head: a cold ask checks that with one query and
    never imports Alembic or Mako, yet still records the interaction (issue 23)."""
    import re

    from askdesk.feedback.store import FeedbackStore

    ask = run_cli(indexed, "ask", "How much does the Team plan cost?")
    assert ask.returncode == 0, ask.said
    assert "49 dollars" in ask.stdout
    skipped = heavy_in(ask.stderr, MIGRATION_ONLY)
    assert skipped == [], f"askdesk ask on a current database imported {skipped}"
    assert ask.heavy == []
    recorded = re.search(r"askdesk vote (\d+) up", ask.stdout)
    assert recorded, ask.stdout
    with FeedbackStore(f"sqlite:///{indexed / 'askdesk.db'}") as store:
        row = store.interactions.get(int(recorded.group(1)))
    assert row is not None and "Team plan" in row["question"]


def test_ask_on_an_older_schema_migrates_it(indexed: Path, tmp_path: Path) -> None:
    """The fast path is only for a current schema: one revision behind, `askdesk ask`
    imports Alembic, brings the database to head and answers."""
    import shutil

    from askdesk.feedback.db import make_engine
    from askdesk.feedback.migrate import current_revision, head_revision, upgrade

    data = tmp_path / "data"
    shutil.copytree(indexed / "lancedb", data / "lancedb")
    engine = make_engine(f"sqlite:///{data / 'askdesk.db'}")
    try:
        upgrade(engine, "0011")
    finally:
        engine.dispose()
    ask = run_cli(data, "ask", "How much does the Team plan cost?")
    assert ask.returncode == 0, ask.said
    assert "49 dollars" in ask.stdout
    assert "alembic" in heavy_in(ask.stderr, MIGRATION_ONLY)
    engine = make_engine(f"sqlite:///{data / 'askdesk.db'}")
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_the_torch_backend_is_what_the_check_catches(indexed: Path) -> None:
    """The same command on the sentence-transformers backend does import torch: the check
    above can fail, and the forced backend (the bench's 'before') really is the torch path."""
    ask = run_cli(indexed, "ask", "How long does an old API key keep working?",
                  ASKDESK_EMBED_BACKEND="torch")
    assert ask.returncode == 0, ask.said
    assert "24 hours" in ask.stdout
    assert "torch" in ask.heavy


def test_slack_bot_starts_and_answers_without_torch(indexed: Path) -> None:
    with FakeSlackAPI() as api:
        port = free_port()
        bot = start_slack_http(indexed, api.base_url, port)
        try:
            wait_for_port(port)
            sender = SlackSender(f"http://127.0.0.1:{port}/slack/events")
            event = mention("How much does the Team plan cost?")
            assert sender.event(event).status_code == 200
            posts = wait_until(lambda: api.posts_in(event["ts"]), timeout=120)
            assert "49 dollars" in json.dumps(posts)
        finally:
            stderr = bot.stop()
    assert heavy_in(stderr) == [], f"askdesk slack imported {heavy_in(stderr)}"


def test_dashboard_starts_and_serves_without_torch(indexed: Path) -> None:
    server = start(indexed, "dashboard", "--host", "127.0.0.1", "--port", "0")
    try:
        line = wait_until(
            lambda: next((ln for ln in server.stderr_so_far().splitlines()
                          if "askdesk dashboard at " in ln), None),
            timeout=120,
        )
        url = line.split(" at ", 1)[1].split(" ", 1)[0].rstrip(";")
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200
    finally:
        stderr = server.stop()
    assert heavy_in(stderr) == [], f"askdesk dashboard imported {heavy_in(stderr)}"


DISCORD_TOKEN = "MTE5OTk5OTk5OTk5OTk5OTk5OQ.Gabcde.real-looking-token-0123456789abcdefghij"
# as tests/test_discord_cli.py: point discord.py at the fake, then run the real CLI
DISCORD_BOOT = (
    "import sys, discord, yarl; "
    "discord.http.Route.BASE = sys.argv[1]; "
    "discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv[2]); "
    "from askdesk.cli import main; sys.argv = ['askdesk', 'discord']; main()"
)


def test_discord_bot_starts_and_answers_without_torch(indexed: Path) -> None:
    import asyncio
    import signal
    import time

    from askdesk.testing import fake_discord as fd

    log = indexed.parent / "discord-stderr.log"
    with fd.fake_in_thread(token=DISCORD_TOKEN) as fake, log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", DISCORD_BOOT, fake.api_base, fake.ws_url],
            cwd=indexed.parent, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=sink,
            env=clean_env(indexed, PYTHONPROFILEIMPORTTIME="1", DISCORD_BOT_TOKEN=DISCORD_TOKEN),
        )
        try:
            wait_until(lambda: "Connected to Discord as" in log.read_text(), timeout=180)
            question = fake.mention("How much does the Team plan cost?")
            assert fake.loop is not None
            asyncio.run_coroutine_threadsafe(
                fake.dispatch("MESSAGE_CREATE", question), fake.loop
            ).result(10)
            end = time.monotonic() + 120
            while not fake.sent and time.monotonic() < end:
                time.sleep(0.1)
            assert fake.sent and "49 dollars" in fake.sent[0]["content"]
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stderr = log.read_text()
    assert heavy_in(stderr) == [], f"askdesk discord imported {heavy_in(stderr)}"
