"""`answer_backend = "llm"` from the shell: status, ask --json and eval against a scripted
OpenAI-compatible server on 127.0.0.1 (the real `openai` client, a real index and store)."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from askdesk.cli import app
from askdesk.core.llm_compose import LLMComposer
from askdesk.settings import Settings
from askdesk.testing.fake_openai import FakeOpenAI, Reply, prompt_passages, sentences
from askdesk.wiring import App

KEY = "sk-test-cli-NEVER-SHOWN"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=True)


def _faithful_plus_invented(body: dict) -> Reply:
    text = " ".join(s.rstrip(".") + " [1]." for s in sentences(prompt_passages(body)[1], 2, 4))
    return Reply(f"{text} This applies to the Enterprise plan only [1].")


@pytest.fixture
def llm_env(env, monkeypatch):
    def use(server: FakeOpenAI | None, port: int | None = None) -> None:
        url = server.base_url if server else f"http://127.0.0.1:{port}/v1"
        monkeypatch.setenv("ASKDESK_ANSWER_BACKEND", "llm")
        monkeypatch.setenv("ASKDESK_LLM_BASE_URL", url)
        monkeypatch.setenv("ASKDESK_LLM_MODEL", "fake-model")
        monkeypatch.setenv("ASKDESK_LLM_API_KEY", KEY)
        monkeypatch.setenv("ASKDESK_LLM_TIMEOUT_S", "3")

    return use


def test_one_setting_chooses_the_backend(env, monkeypatch):
    assert not isinstance(App(Settings()).engine(record=False).composer, LLMComposer)
    monkeypatch.setenv("ASKDESK_ANSWER_BACKEND", "llm")
    composer = App(Settings()).engine(record=False).composer
    assert isinstance(composer, LLMComposer) and composer.config.temperature == 0
    monkeypatch.setenv("ASKDESK_LLM_API_KEY", KEY)
    assert KEY not in repr(Settings()) and KEY not in repr(App(Settings()).composer())


def test_status_shows_the_backend_and_whether_it_answers_never_the_key(llm_env):
    with FakeOpenAI(models=("fake-model", "other")) as server:
        llm_env(server)
        r = invoke("status", "--json")
        assert r.exit_code == 0, r.output
        info = json.loads(r.stdout)
        assert info["answer_backend"] == "llm"
        assert info["llm"] == {
            "base_url": server.base_url,
            "model": "fake-model",
            "reachable": True,
            "detail": "model listed",
        }
        assert KEY not in r.stdout
        assert server.requests[-1].path == "/v1/models"
        r = invoke("status")
        assert "server answers" in r.stdout and KEY not in r.stdout
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    llm_env(None, port)
    r = invoke("status", "--json")
    backend = json.loads(r.stdout)["llm"]
    assert backend["reachable"] is False and backend["detail"] == "unreachable"
    assert "does not answer" in invoke("status").stdout


def test_ask_json_says_which_composer_wrote_the_answer_and_why(llm_env, tiny_docs):
    assert invoke("index", str(tiny_docs)).exit_code == 0
    with FakeOpenAI(responder=_faithful_plus_invented) as server:
        llm_env(server)
        r = invoke("ask", "--json", "How do I rotate an API key?")
        assert r.exit_code == 0, r.output
        ans = json.loads(r.stdout)
    assert ans["composer"] == "llm:fake-model"
    assert ans["composer_note"] == "check dropped 1 of 3 sentences"
    assert "Enterprise" not in ans["answer"] and ans["sources"][0]["path"] == "keys.md"
    with FakeOpenAI([Reply(status=500)]) as server:
        llm_env(server)
        ans = json.loads(invoke("ask", "--json", "How do I rotate an API key?").stdout)
    assert ans["composer"] == "extractive"
    assert ans["composer_note"] == "fallback: server error (500)"


def test_eval_reports_groundedness_before_and_after_the_check(llm_env, tiny_docs, env):
    assert invoke("index", str(tiny_docs)).exit_code == 0
    golden = env / "golden.jsonl"
    golden.write_text(
        "\n".join(
            json.dumps(line)
            for line in [
                {"question": "How do I rotate an API key?", "sources": ["keys.md"]},
                {"question": "How much does the Team plan cost?", "sources": ["billing/plans.md"]},
            ]
        )
    )
    with FakeOpenAI(responder=_faithful_plus_invented) as server:
        llm_env(server)
        r = invoke("eval", str(golden), "--json")
        assert r.exit_code == 0, r.output
        out = json.loads(r.stdout)
        text = invoke("eval", str(golden)).stdout
    s = out["summary"]
    assert out["backend"] == "llm" and out["model"] == "fake-model"
    assert s["groundedness_before_check"] < s["groundedness_after_check"] == 1.0
    assert s["check_removed"] == pytest.approx(1 / 3, abs=0.01) and s["fallbacks"] == {}
    assert "groundedness before check" in text and "Answer backend: llm fake-model" in text
    runs = App(Settings()).store.styles.eval_runs()
    assert {(r["backend"], r["model"]) for r in runs} == {("llm", "fake-model")}
