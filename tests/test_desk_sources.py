"""One desk with a folder, a website and a git repository, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from askdesk.cli import app as cli
from askdesk.core.types import Question
from askdesk.feedback.records import IndexRunRecord
from askdesk.testing.docsite import DocSite, sqlite_site
from tests.test_git_source import make_repo


@pytest.fixture
def site():
    s = sqlite_site().start()
    yield s
    s.stop()


def _config(path: Path, entries: list[str], channel_paths: str = '["code/"]') -> None:
    body = "\n".join(f"[[sources]]\n{e}\n" for e in entries)
    path.write_text(body + f'\n[channels.C1]\npaths = {channel_paths}\n')


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_a_desk_with_a_folder_a_site_and_a_repository(env, tiny_docs, site: DocSite):
    base = site.base + "/docs/"
    site.sitemap("/docs/sitemap.xml", [base + "autoinc.html", base + "wal.html"])
    repo = make_repo(env)
    dead = DocSite()
    dead_url = dead.base + "/docs/"
    dead.server.server_close()
    good = [
        f'name = "handbook"\npath = "{tiny_docs}"',
        f'name = "sqlite"\nurl = "{base}"',
        f'name = "code"\ngit = "git+file://{repo}"\nsubdir = "docs"',
    ]
    bad = [
        f'name = "handbook"\nurl = "{dead_url}"',  # a name used twice
        f'name = "nogit"\ngit = "git+file://{env}/missing.git"',
        f'name = "dead"\nurl = "{dead_url}"',
    ]
    _config(env / "askdesk.toml", good + bad)

    r = _run("index")
    assert r.exit_code == 1, r.output  # some sources failed: not a clean run
    lines = r.output.splitlines()
    assert any(ln.startswith("handbook: 3 added") for ln in lines), r.output
    assert any(ln.startswith("sqlite: 2 added") for ln in lines), r.output
    assert any(ln.startswith("code: 3 added") for ln in lines), r.output
    assert any(ln.startswith("nogit: failed (git clone failed") for ln in lines), r.output
    assert any(ln.startswith("dead: failed (cannot fetch") for ln in lines), r.output
    assert any("'handbook' is used twice" in ln for ln in lines), r.output

    listed = json.loads(_run("sources", "--json").output)
    by_name = {row["name"]: row for row in listed}
    assert [row["name"] for row in listed] == ["handbook", "sqlite", "code", "nogit", "dead"]
    assert by_name["handbook"]["documents"] == 3 and by_name["sqlite"]["documents"] == 2
    assert by_name["code"]["revision"] and by_name["code"]["last_status"] == "ok"
    assert by_name["nogit"]["last_status"] == "failed" and by_name["nogit"]["error"]

    # one source by name; a channel limited to the repository answers only from it
    again = _run("index", "sqlite")
    assert again.exit_code == 0 and again.output.startswith("sqlite: 0 added"), again.output
    from askdesk.settings import Settings
    from askdesk.wiring import App

    app = App(Settings())
    paths = app.channels().get("C1").paths
    assert paths == ("code/",)
    answer = app.engine(record=False).answer(
        Question("how do I rotate an API key", path_prefixes=paths)
    )
    assert answer.sources and all(s.path.startswith("code/") for s in answer.sources)

    # the dashboard's freshness tab: a row per source, and "Sync now" runs one source's sync
    from askdesk.cli.dashboard_cmd import build_services
    from askdesk.dashboard.panels.freshness import render

    services = build_services(App(Settings()), None)
    info = services.freshness()
    rows = {r["name"]: r for r in info["sources"]}
    assert rows["handbook"]["pending"] == 0 and rows["sqlite"]["pending"] is None
    assert rows["dead"]["last_status"] == "failed"
    assert "Sync now" in str(render(info, can_sync=True))
    (tiny_docs / "keys.md").write_text("# Keys\n\nKeys are rotated by the owner.\n")
    outcome = services.sync_source("handbook", "dashboard")
    assert outcome.started, outcome.message
    services.jobs.wait("reindex", timeout=120)
    job = services.jobs.latest("reindex")
    assert job["status"] == "ok" and job["message"].startswith("handbook: 0 added, 1 changed")

    # removing a source from the config removes its documents at the next full sync
    _config(env / "askdesk.toml", good[:1] + good[2:])
    r = _run("index")
    assert r.exit_code == 0, r.output
    assert "removed sources (sqlite): 2 documents dropped" in r.output
    docs = set(App(Settings()).index.doc_states())
    assert docs and not any(d.startswith("sqlite/") for d in docs)

    # a bad one-off URL: one line, and the index is left as it was
    from askdesk.cli.context import UserError

    with pytest.raises(UserError) as err:  # it would replace the desk: not without --replace
        _run("index", "http://127.0.0.1:9/none/")
    assert "as the whole desk would remove" in str(err.value)
    with pytest.raises(UserError) as err:
        _run("index", "http://127.0.0.1:9/none/", "--replace")
    assert str(err.value) == (
        "cannot fetch http://127.0.0.1:9/none/: cannot connect: ConnectionError "
        "(the index was not changed)"
    )
    assert set(App(Settings()).index.doc_states()) == docs


def test_a_source_with_its_own_schedule_waits_until_it_is_due(env, tiny_docs):
    from askdesk.settings import Settings
    from askdesk.upkeep.reindex import _not_due
    from askdesk.wiring import App

    _config(
        env / "askdesk.toml",
        [
            f'name = "hourly"\npath = "{tiny_docs}"\nevery_minutes = 60',
            f'name = "often"\npath = "{tiny_docs}"',
        ],
    )
    app = App(Settings())
    assert _not_due(app) == set()  # never synced: due
    for name in ("hourly", "often"):
        app.store.index_runs.record(IndexRunRecord(
            docs_root=str(tiny_docs), status="ok", embed_model="m", source=name
        ))
    assert _not_due(app) == {"hourly"}
