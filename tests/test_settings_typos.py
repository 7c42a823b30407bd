"""Settings that catch typos (issue 22, part 2): an unknown name in askdesk.toml, in a
`[[sources]]` or `[channels."…"]` table, in an ASKDESK_* variable or in .env is an error
naming it and the closest known one; `status` fails on an invalid configuration; `config
check` shows each effective value with where it came from, secrets masked."""

from __future__ import annotations

import json
import re

import pytest

from askdesk.retrieval.source_settings import BUILTIN_TYPES, WebSourceSettings
from askdesk.settings import ChannelSettings, Settings
from tests.clirun import run_main

ERROR = re.compile(r"^error: .+ \(.+\)$")


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        (
            "min_confidance = 0.5\n",
            "error: unknown setting 'min_confidance' in askdesk.toml "
            "(did you mean 'min_confidence'?)",
        ),
        (
            '[[sources]]\nname = "handbook"\npth = "./docs"\n',
            "error: unknown setting 'pth' in [[sources]] 'handbook' in askdesk.toml "
            "(did you mean 'path'?)",
        ),
        (
            '[channels."C0123"]\nrespond_too = "all"\n',
            "error: unknown setting 'respond_too' in [channels.\"C0123\"] in askdesk.toml "
            "(did you mean 'respond_to'?)",
        ),
        (
            '[lancedb]\nstorage_option = {aws_region = "x"}\n',
            "error: unknown setting 'storage_option' in [lancedb] in askdesk.toml "
            "(did you mean 'storage_options'?)",
        ),
        (
            "zzz_nothing_like_it = 1\n",
            "error: unknown setting 'zzz_nothing_like_it' in askdesk.toml "
            "(`askdesk config check` lists every setting)",
        ),
    ],
)
def test_an_unknown_key_in_the_file_is_named_with_the_closest_known_one(
    env, capsys, monkeypatch, toml, line
):
    (env / "askdesk.toml").write_text(toml)
    r = run_main(capsys, monkeypatch, "status")
    assert r.code == 2 and r.err_lines == [line], r.err
    assert r.out == ""


def test_an_unknown_variable_is_named_and_test_variables_are_not(env, capsys, monkeypatch):
    monkeypatch.setenv("ASKDESK_MIN_CONFIDANCE", "0.5")
    r = run_main(capsys, monkeypatch, "config", "check")
    assert r.code == 2
    assert r.err_lines == [
        "error: unknown setting 'ASKDESK_MIN_CONFIDANCE' in the environment "
        "(did you mean 'ASKDESK_MIN_CONFIDENCE'?)"
    ]
    monkeypatch.delenv("ASKDESK_MIN_CONFIDANCE")
    # the test suite's and the benches' own variables, and the config file's, are not settings
    reserved = ("ASKDESK_CONFIG", "ASKDESK_EVAL_DIR", "ASKDESK_TEST_PG_URL", "ASKDESK_BENCH_DIR")
    for name in (*reserved, "ASKDESK_TEST_X"):
        monkeypatch.setenv(name, str(env / "nothing.toml") if name == "ASKDESK_CONFIG" else "x")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-a-real-token")  # an alias, not ASKDESK_
    monkeypatch.setenv("ASKDESK_SLACK_SIGNING_SECRET", "s3cret")  # the ASKDESK_ spelling of one
    r = run_main(capsys, monkeypatch, "config", "check")
    assert r.code == 0, r.err


def test_an_unknown_variable_in_dotenv_is_named(env, capsys, monkeypatch):
    (env / ".env").write_text("ASKDESK_TOPK=3\n")
    r = run_main(capsys, monkeypatch, "status")
    assert r.code == 2
    assert r.err_lines == [
        "error: unknown setting 'ASKDESK_TOPK' in .env (did you mean 'ASKDESK_TOP_K'?)"
    ]


def test_every_field_of_the_nested_models_is_known_without_a_second_list():
    """The known names come from the models: a field someone adds to SourceSettings (a crawl
    deadline, say) or ChannelSettings is accepted in the file without touching the check."""
    from askdesk.setting_names import NOT_SETTINGS, keys_of, unknown_keys

    assert set(NOT_SETTINGS) == {"ASKDESK_CONFIG", "ASKDESK_EVAL_DIR"}  # README says so
    sources = [{name: "x" for name in model.model_fields} for model in BUILTIN_TYPES.values()]
    channel = {name: "x" for name in ChannelSettings.model_fields}
    data = {"sources": sources, "channels": {"C1": channel}, "top_k": 3}
    assert list(unknown_keys(data, Settings, "askdesk.toml")) == []
    assert keys_of(WebSourceSettings) >= {"type", "name", "url", "max_pages"}
    assert [u.key for u in unknown_keys({"sources": [{"pth": 1}]}, Settings, "f")] == ["pth"]
    # a table is checked against its type's keys only, the type as written or implied
    for folder in ({"type": "folder", "name": "a", "path": "d", "max_pages": 3},
                   {"name": "a", "path": "d", "max_pages": 3}):  # fmt: skip
        found = list(unknown_keys({"sources": [folder]}, Settings, "f"))
        assert [(u.key, u.where) for u in found] == [("max_pages", "[[sources]] 'a' in f")]
        assert found[0].error().hint == (
            "type = 'folder' takes: every_minutes, name, path, type, web_url"
        )


def test_status_fails_on_an_unknown_answer_backend_after_showing_the_rest(env, capsys, monkeypatch):
    (env / "askdesk.toml").write_text('answer_backend = "lmm"\n')
    r = run_main(capsys, monkeypatch, "status")
    assert r.code == 2
    assert r.err_lines == [
        "error: unknown answer_backend 'lmm' (did you mean 'llm'? known: extractive, llm)"
    ]
    assert "Store:" in r.out  # the report is still printed
    r = run_main(capsys, monkeypatch, "status", "--json")
    assert r.code == 2 and json.loads(r.out)["answer_backend"] == "lmm"


def test_config_check_shows_each_value_and_its_origin_with_secrets_masked(env, capsys, monkeypatch):
    (env / "askdesk.toml").write_text(
        "min_confidence = 0.4\n"
        'database_url = "postgresql+psycopg://askdesk:hunter2@db.internal/askdesk"\n'
        "[lancedb.storage_options]\n"
        'aws_secret_access_key = "AKIA-SECRET-VALUE"\n'
        'aws_region = "eu-west-1"\n'
    )
    monkeypatch.setenv("ASKDESK_TOP_K", "7")
    monkeypatch.setenv("ASKDESK_LLM_API_KEY", "sk-very-secret")
    r = run_main(capsys, monkeypatch, "config", "check", "--json")
    assert r.code == 0, r.err
    rows = {row["name"]: row for row in json.loads(r.out)["settings"]}
    assert rows["top_k"] == {"name": "top_k", "value": 7, "origin": "environment (ASKDESK_TOP_K)"}
    assert rows["min_confidence"]["value"] == 0.4
    assert rows["min_confidence"]["origin"] == "askdesk.toml"
    assert rows["answer_max_words"]["origin"] == "default"
    assert rows["data_dir"]["origin"] == "environment (ASKDESK_DATA_DIR)"
    assert rows["llm_api_key"]["value"] == "********"
    assert rows["lancedb"]["value"]["storage_options"] == {
        "aws_secret_access_key": "********",
        "aws_region": "eu-west-1",
    }
    for secret in ("sk-very-secret", "hunter2", "AKIA-SECRET-VALUE"):
        assert secret not in r.out
    text = run_main(capsys, monkeypatch, "config", "check")
    assert text.code == 0
    assert re.search(r"^top_k +\= 7  # environment \(ASKDESK_TOP_K\)$", text.out, re.M)
    assert "hunter2" not in text.out and text.out.rstrip().endswith("configuration ok")
    given = run_main(capsys, monkeypatch, "--data-dir", str(env / "d2"), "config", "check")
    assert re.search(r"^data_dir +\= .*d2\"  # command line$", given.out, re.M)


def test_config_check_fails_on_an_unknown_backend(env, capsys, monkeypatch):
    monkeypatch.setenv("ASKDESK_ANSWER_BACKEND", "lmm")
    r = run_main(capsys, monkeypatch, "config", "check")
    assert r.code == 2 and ERROR.match(r.err_lines[-1]) and "'llm'" in r.err_lines[-1]
