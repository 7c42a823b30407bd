"""Credentials in a source URL (issue 20, rows D6, D7, Part 3): a website behind basic auth
and a git smart-HTTP server behind basic auth, both on loopback, configured with
`user:password@` in their URLs. The secrets must work (mixed case kept) and appear nowhere:
not in any file of the data dir, not in the database, not in any printed output or log
line, not in the argv of any git process, not in the clone's `.git/config`."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from askdesk.cli import app as cli
from askdesk.retrieval.gitsource import GitError, GitSource
from askdesk.testing.docsite import DocSite
from tests.git_http import GitHTTP
from tests.test_git_source import git, make_repo
from tests.test_web_reliability import small_site

SITE_SECRET = "SiTe-PaSs-7Qx"
GIT_SECRET = "GiT-ToKeN-9Zk"


def _served_repo(tmp_path: Path, secret: str) -> tuple[GitHTTP, str]:
    origin = make_repo(tmp_path)
    root = tmp_path / "served"
    root.mkdir()
    git(root, "clone", "-q", "--bare", str(origin), "repo.git")
    server = GitHTTP(root, "bob", secret).start()
    return server, f"127.0.0.1:{server.server.server_address[1]}"


def _files_holding(root: Path, secrets: list[str]) -> list[str]:
    """Every file under root whose bytes hold a secret (as typed, or lower-cased)."""
    needles = [s.encode() for s in secrets] + [s.lower().encode() for s in secrets]
    return [
        str(p) for p in root.rglob("*") if p.is_file() and any(n in p.read_bytes() for n in needles)
    ]


def test_d7_git_credentials_never_reach_argv_or_the_clone(tmp_path, monkeypatch):
    server, host = _served_repo(tmp_path, GIT_SECRET)
    trace = tmp_path / "git-trace.log"
    monkeypatch.setenv("GIT_TRACE", str(trace))  # every command git runs, with its argv
    try:
        source = GitSource(
            f"git+http://bob:{GIT_SECRET}@{host}/repo.git", tmp_path / "state", name="code"
        )
        assert source.location == f"git+http://{host}/repo.git"
        listing = source.list_items()
        assert "code/docs/keys.md" in {i.doc_id for i in listing.items}
        source.finish()
        source.list_items()  # a fetch into the existing clone
        assert [c for _, c, _ in server.requests].count(401) >= 1  # git had to authenticate
        assert any(c == 200 and auth for _, c, auth in server.requests)
        log = trace.read_text()
        assert "git-remote-http" in log and "clone" in log and "fetch" in log
        assert GIT_SECRET not in log
        config = (tmp_path / "state" / "repo" / ".git" / "config").read_text()
        assert f"http://{host}/repo.git" in config
        assert _files_holding(tmp_path / "state", [GIT_SECRET]) == []

        # a wrong token: one line, no secret, nothing prompted for
        bad = GitSource(f"git+http://bob:wrong-{GIT_SECRET}@{host}/repo.git", tmp_path / "b")
        with pytest.raises(GitError) as err:
            bad.list_items()
        assert "Authentication failed" in str(err.value) and GIT_SECRET not in str(err.value)

        # a token from token_env with the user named in the URL
        named = GitSource(f"git+http://bob@{host}/repo.git", tmp_path / "c", token=GIT_SECRET)
        assert named.list_items().items
        assert GIT_SECRET not in trace.read_text()
    finally:
        server.stop()


def test_the_credential_helper_answers_only_for_the_configured_host(tmp_path):
    source = GitSource("git+http://bob:s3cret@127.0.0.1:9/repo.git", tmp_path / "s")
    env = source._env()
    assert "s3cret" not in " ".join(v for k, v in env.items() if k.startswith("GIT_CONFIG_"))

    def ask(host: str) -> str:
        done = subprocess.run(
            ["git", "credential", "fill"],
            input=f"protocol=http\nhost={host}\n\n",
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        return done.stdout

    assert "password=s3cret" in ask("127.0.0.1:9")
    assert "s3cret" not in ask("127.0.0.1:10") and "s3cret" not in ask("evil.example")


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return f"exit {result.exit_code}\n{result.output}"


def test_a_secret_in_a_source_url_is_nowhere_after_sync_status_ask_and_dashboard(
    env, tmp_path, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    site = small_site().start()
    site.auth = ("Docs.User", SITE_SECRET)
    server, host = _served_repo(tmp_path, GIT_SECRET)
    trace = tmp_path / "git-trace.log"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    port = site.server.server_address[1]
    (env / "askdesk.toml").write_text(
        f'[[sources]]\nname = "site"\n'
        f'url = "http://Docs.User:{SITE_SECRET}@127.0.0.1:{port}/docs/index.html"\n\n'
        f'[[sources]]\nname = "code"\ngit = "git+http://bob:{GIT_SECRET}@{host}/repo.git"\n'
        'subdir = "docs"\n'
    )
    try:
        printed = [_run("index")]
        assert printed[0].startswith("exit 0"), printed[0]
        assert "site: 6 added" in printed[0] and "code: 3 added" in printed[0]
        printed.append(_run("index", "--json"))
        printed.append(_run("status"))
        printed.append(_run("status", "--json"))
        printed.append(_run("sources"))
        printed.append(_run("sources", "--json"))
        answer = _run("ask", "--json", "how do I install the server")
        assert f"http://127.0.0.1:{port}/docs/install.html" in answer, answer
        printed.append(answer)
        printed.append(_run("ask", "how do I rotate an API key"))

        from askdesk.cli.dashboard_cmd import build_services
        from askdesk.dashboard.panels.freshness import render
        from askdesk.settings import Settings
        from askdesk.wiring import App

        info = build_services(App(Settings()), None).freshness()
        printed.append(json.dumps(info, default=str) + str(render(info, can_sync=True)))
    finally:
        site.stop()
        server.stop()

    secrets = [SITE_SECRET, GIT_SECRET]
    for out in printed:
        assert not any(s in out or s.lower() in out for s in secrets), out
    logged = caplog.text + "".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert not any(s in logged or s.lower() in logged for s in secrets)
    assert not any(s in trace.read_text() for s in secrets)  # no git argv held one

    data = env / "data"
    assert _files_holding(data, secrets) == []
    db = next(data.glob("*.db"))
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert "index_run" in dump and not any(s.lower() in dump.lower() for s in secrets)
    import lancedb

    lance = lancedb.connect(data / "lancedb")
    names = list(lance.table_names())
    assert names
    for name in names:
        rows = str(lance.open_table(name).to_arrow().to_pylist())
        assert not any(s.lower() in rows.lower() for s in secrets), name


def test_a_site_reached_without_its_password_fails_cleanly(tmp_path):
    site: DocSite = small_site().start()
    site.auth = ("Docs.User", SITE_SECRET)
    try:
        from askdesk.retrieval.web import WebError, WebSource

        lower = f"http://docs.user:{SITE_SECRET.lower()}@{site.base[7:]}/docs/index.html"
        with pytest.raises(WebError) as err:
            WebSource(lower, tmp_path / "s").list_items()
        assert str(err.value).endswith("HTTP 401") and SITE_SECRET.lower() not in str(err.value)
    finally:
        site.stop()


def test_links_stored_with_a_password_by_an_older_version_are_rewritten(tmp_path, embedder):
    from askdesk.retrieval.index import ChunkIndex
    from askdesk.retrieval.ingest import Ingester
    from askdesk.retrieval.web import WebSource

    site = small_site().start()
    try:
        index = ChunkIndex(tmp_path / "lancedb")
        ing = Ingester(index, embedder)
        source = WebSource(site.base + "/docs/index.html", tmp_path / "state", name="site")
        assert ing.run(source).status == "ok"
        clean = index.doc_urls()
        # what an older crawler stored: the password, lower-cased, in every link
        leaked = {
            d: u.replace("http://", f"http://u:{SITE_SECRET.lower()}@") for d, u in clean.items()
        }
        index.set_document_urls(leaked)
        assert all(SITE_SECRET.lower() in u for u in index.doc_urls().values())

        report = ing.run(source)
        assert report.chunks_embedded == 0 and report.notes["links_updated"] == len(clean)
        assert index.doc_urls() == clean
        assert index.count() == sum(index.doc_chunk_counts().values())
    finally:
        site.stop()


def test_migration_0011_takes_credentials_out_of_the_stored_run_history(tmp_path):
    from sqlalchemy import text

    from askdesk.feedback.db import make_engine
    from askdesk.feedback.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        upgrade(engine, "0010")
        leaked = f"http://docs.user:{SITE_SECRET.lower()}@127.0.0.1:8080/docs/"
        with engine.begin() as connection:
            for root, error in [
                (leaked, f"cannot fetch {leaked}index.html: HTTP 401"),
                ("/srv/docs", None),
                ("git+ssh://git@example.com/repo.git", None),
            ]:
                connection.execute(
                    text(
                        "INSERT INTO index_run (started_at, status, docs_root, docs_added,"
                        " docs_changed, docs_removed, docs_unchanged, chunks_added,"
                        " chunks_removed, chunks_unchanged, chunks_embedded, skipped,"
                        " duration_s, embed_model, error) VALUES (CURRENT_TIMESTAMP, 'failed',"
                        " :root, 0, 0, 0, 0, 0, 0, 0, 0, '[]', 0, 'm', :error)"
                    ),
                    {"root": root, "error": error},
                )
        upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT docs_root, error FROM index_run ORDER BY id")
            ).fetchall()
        assert [tuple(r) for r in rows] == [
            (
                "http://127.0.0.1:8080/docs/",
                "cannot fetch http://127.0.0.1:8080/docs/index.html: HTTP 401",
            ),
            ("/srv/docs", None),
            ("git+ssh://example.com/repo.git", None),
        ]
    finally:
        engine.dispose()
