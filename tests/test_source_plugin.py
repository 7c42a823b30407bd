"""Source types are registered, not hard-wired (issue 24, part 2).

A third-party package (tests/plugins/askdesk_source_example, importing only
`askdesk.plugins`) adds `type = "jsonl"` through a real `askdesk.sources` entry point: a
`*.dist-info` with its `entry_points.txt` on the path of a fresh `askdesk` process, as pip
would leave it. Configured by its type in askdesk.toml, it is indexed into a real LanceDB
index and answers searches; `askdesk index jsonl:FILE` takes it as a one-off. The built-in
types are registered the same way (pyproject.toml, checked against the code's table), and
tables written before `type` existed keep working.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from askdesk.retrieval.source_registry import ENTRY_POINT_GROUP, registered
from askdesk.retrieval.source_settings import BUILTIN_TYPES, FolderSourceSettings, WebSourceSettings
from askdesk.retrieval.sources import FolderSource
from askdesk.settings import Settings
from askdesk.testing.lean_runs import ROOT, clean_env
from tests.clirun import run_main

PLUGINS = ROOT / "tests" / "plugins"
DIST = "askdesk_source_example-0.1.0.dist-info"

ENTRIES = [
    {"id": "refunds", "title": "Refunds", "body": "Refunds are paid within 14 days of a return."},
    {"id": "shipping", "title": "Shipping", "body": "Parcels ship from Rotterdam every weekday."},
]


def install_plugin(site: Path) -> Path:
    """What `pip install` of the example would leave: its distribution metadata with the
    entry point (the code itself stays in tests/plugins, put on the path beside it)."""
    dist = site / DIST
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: askdesk-source-example\nVersion: 0.1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\njsonl = askdesk_source_example:JsonLinesSettings\n"
    )
    return site


def askdesk(work: Path, *args: str, site: Path | None = None) -> subprocess.CompletedProcess:
    """`askdesk ARGS` in a fresh interpreter in `work` (its askdesk.toml), data in work/data;
    with `site`, the example plugin is installed."""
    env = clean_env(work / "data")
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(PLUGINS), str(site)])
    return subprocess.run(
        [sys.executable, "-m", "askdesk", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_entries(path: Path, entries: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    return path


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def test_pyproject_registers_exactly_the_builtin_source_types() -> None:
    """The built-ins are entry points like any plugin's; the code's table (used when the
    installed metadata predates them) must say the same."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        declared = tomllib.load(f)["project"]["entry-points"][ENTRY_POINT_GROUP]
    in_code = {n: f"{m.__module__}:{m.__qualname__}" for n, m in BUILTIN_TYPES.items()}
    assert declared == in_code
    for name, model in BUILTIN_TYPES.items():
        assert model.type_name() == name
    assert set(registered()) >= {"folder", "web", "git"}


def test_tables_without_a_type_keep_their_meaning() -> None:
    s = Settings(
        sources=[
            {"name": "handbook", "path": "docs"},
            {"name": "site", "url": "https://docs.example.com/guide/", "max_pages": 5},
            {"name": "repo", "git": "https://git.example.com/r.git", "branch": "main"},
        ]
    )
    assert [(c.type, c.kind) for c in s.sources] == [
        ("folder", "folder"),
        ("web", "web"),
        ("git", "git"),
    ]
    assert isinstance(s.sources[1], WebSourceSettings) and s.sources[1].max_pages == 5
    built = s.sources[0].build(Path("unused"))
    assert isinstance(built, FolderSource) and built.name == "handbook"
    built.finish()  # a real protocol method: a no-op for a folder, no getattr needed
    explicit = Settings(sources=[{"type": "folder", "name": "h", "path": "docs"}])
    assert isinstance(explicit.sources[0], FolderSourceSettings)


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        (
            '[[sources]]\ntype = "jsonl"\nname = "faq"\nfile = "faq.jsonl"\n',
            "error: unknown source type 'jsonl' in [[sources]] 'faq' in askdesk.toml "
            "(known types: folder, git, web)",
        ),
        (
            '[[sources]]\nname = "both"\npath = "docs"\nurl = "https://x.example/"\n',
            "error: [[sources]] 'both' needs a type, or exactly one of git, path, url; it has "
            "path, url in askdesk.toml (known types: folder, git, web)",
        ),
    ],
)
def test_a_bad_source_type_is_one_line_listing_the_known_types(
    env, capsys, monkeypatch, toml, line
) -> None:
    (env / "askdesk.toml").write_text(toml)
    r = run_main(capsys, monkeypatch, "status")
    assert r.code == 2 and r.err_lines == [line], r.err


def test_a_bad_source_type_given_in_code_is_one_line_too(env, capsys, monkeypatch) -> None:
    """The same check when the table does not come from the file (the environment)."""
    monkeypatch.setenv("ASKDESK_SOURCES", '[{"name": "faq", "type": "ftp"}]')
    r = run_main(capsys, monkeypatch, "status")
    assert r.code == 2
    assert r.err_lines == [
        "error: unknown source type 'ftp' in [[sources]] 'faq' (known types: folder, git, web)"
    ]


def test_a_third_party_source_type_is_configured_indexed_and_searched(
    work: Path, tmp_path: Path
) -> None:
    site = install_plugin(tmp_path / "site")
    faq = write_entries(work / "faq.jsonl", ENTRIES)
    (work / "askdesk.toml").write_text(
        f'[[sources]]\ntype = "jsonl"\nname = "faq"\nfile = "{faq}"\n'
    )

    # without the distribution installed, the type is unknown: one line, the known types
    bare = askdesk(work, "index")
    assert bare.returncode == 2
    assert bare.stderr.strip().splitlines()[-1] == (
        f"error: unknown source type 'jsonl' in [[sources]] 'faq' in {Path('askdesk.toml')} "
        "(known types: folder, git, web)"
    )

    check = askdesk(work, "config", "check", "--json", site=site)
    assert check.returncode == 0, check.stderr
    rows = {r["name"]: r for r in json.loads(check.stdout)["settings"]}
    assert rows["sources"]["value"] == [
        {"type": "jsonl", "name": "faq", "every_minutes": None, "file": str(faq), "web_url": None}
    ]

    indexed = askdesk(work, "index", "--json", site=site)
    assert indexed.returncode == 0, indexed.stderr
    assert faq.with_suffix(".synced").read_text() == "2"  # the ingester called finish()

    found = askdesk(work, "search", "how long do refunds take", "--json", site=site)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    top = hits["hits"][0]
    assert top["doc_id"] == "faq/refunds.md"
    assert "14 days" in top["text"]

    listed = askdesk(work, "sources", "--json", site=site)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["kind"], r["location"], r["documents"]) for r in rows] == [
        ("faq", "jsonl", str(faq), 2)
    ]

    # a bad type with the plugin installed lists it among the known ones
    (work / "askdesk.toml").write_text('[[sources]]\ntype = "jsnol"\nname = "faq"\n')
    typo = askdesk(work, "status", site=site)
    assert typo.returncode == 2
    assert typo.stderr.strip().splitlines()[-1].endswith("(known types: folder, git, jsonl, web)")


def test_a_third_party_type_takes_a_one_off_argument_by_its_prefix(
    work: Path, tmp_path: Path
) -> None:
    site = install_plugin(tmp_path / "site")
    faq = write_entries(work / "faq.jsonl", ENTRIES[1:])
    run = askdesk(work, "index", f"jsonl:{faq}", "--json", site=site)
    assert run.returncode == 0, run.stderr
    found = askdesk(work, "search", "where do parcels ship from", "--json", site=site)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    top = hits["hits"][0]
    assert top["doc_id"] == "shipping.md"  # the unnamed source owns the whole index
    assert "Rotterdam" in top["text"]


def test_a_broken_or_shadowing_plugin_never_stops_the_desk(work: Path, tmp_path: Path) -> None:
    """An entry point that cannot load is skipped (logged); one claiming a built-in's name
    does not replace it: the folder source below is still the built-in folder."""
    site = tmp_path / "site"
    dist = site / "askdesk_source_broken-0.1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: askdesk-source-broken\n")
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n"
        "broken = askdesk_source_missing:Nothing\n"
        "folder = askdesk_source_example:JsonLinesSettings\n"
    )
    (work / "docs").mkdir()
    (work / "askdesk.toml").write_text('[[sources]]\nname = "h"\npath = "docs"\n')
    run = askdesk(work, "config", "check", "--json", site=site)
    assert run.returncode == 0, run.stderr
    rows = {r["name"]: r for r in json.loads(run.stdout)["settings"]}
    assert rows["sources"]["value"] == [
        {"type": "folder", "name": "h", "every_minutes": None, "path": "docs", "web_url": None}
    ]
    (work / "askdesk.toml").write_text('[[sources]]\nname = "b"\ntype = "broken"\n')
    typo = askdesk(work, "status", site=site)
    assert typo.returncode == 2
    assert typo.stderr.strip().splitlines()[-1].endswith("(known types: folder, git, web)")
