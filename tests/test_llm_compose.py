"""The LLM composer end to end: the real `openai` client, unmodified, talking HTTP to a scripted
OpenAI-compatible server on 127.0.0.1, through the real engine over the indexed sample docs,
recording into a real SQLite store. Each outcome is asserted on the answer the asker gets and
on the stored interaction row."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import NOT_FOUND, AnswerEngine, EngineConfig
from askdesk.core.llm_compose import LLMComposer, LLMConfig
from askdesk.core.types import Question, Turn
from askdesk.feedback.store import FeedbackStore
from askdesk.testing.fake_openai import FakeOpenAI, Reply, prompt_passages, sentences

QUESTION = "How do I rotate my API key?"
MODEL = "fake-model"




@pytest.fixture(scope="module")
def extractive_answer(sample_searcher) -> str:
    """What the extractive composer answers QUESTION: every fallback must give exactly this."""
    return AnswerEngine(sample_searcher, ExtractiveComposer()).answer(Question(QUESTION)).text


def _engine(searcher, store, server: FakeOpenAI, **config) -> AnswerEngine:
    llm = LLMConfig(server.base_url, MODEL, **{"timeout_s": 5.0, **config})
    composer = LLMComposer(llm, ExtractiveComposer())
    return AnswerEngine(searcher, composer, recorder=store.interactions, asker_salt="s")


def _faithful(body: dict, cite: str = "[1]") -> str:
    """A model that restates the first two sentences of passage 1, each cited."""
    return " ".join(s.rstrip(".") + f" {cite}." for s in sentences(prompt_passages(body)[1]))


def _row(store: FeedbackStore, answer) -> dict:
    row = store.interactions.get(answer.interaction_id)
    assert row is not None
    return row


def test_a_grounded_reply_is_the_answer_cited_and_recorded(sample_searcher, store):
    with FakeOpenAI(responder=lambda body: Reply(_faithful(body))) as server:
        eng = _engine(sample_searcher, store, server)
        earlier = Turn("Where are API keys managed?", "In Settings → API keys [1].")
        ans = eng.answer(Question(QUESTION, history=(earlier,)))
        request = server.completions[0].body
    expected = _faithful(request)
    assert ans.text == expected and not ans.unanswered
    assert ans.composer == f"llm:{MODEL}" and ans.composer_note is None
    assert ans.check["kept"] == ans.check["claims"] == 2
    first = prompt_passages(request)[1]
    assert len(ans.sources) == 1 and ans.sources[0].n == 1
    assert ans.sources[0].path in request["messages"][-1]["content"].split(first)[0]
    # the thread's earlier turn and the rules reached the model
    roles = [m["role"] for m in request["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert request["messages"][1]["content"] == earlier.question
    rules = request["messages"][0]["content"]
    assert "ONLY" in rules and "[1]" in rules and request["temperature"] == 0
    row = _row(store, ans)
    assert row["answer"] == expected and row["composer"] == f"llm:{MODEL}"
    assert row["composer_note"] is None and row["unanswered"] is False


def test_an_invented_number_is_dropped_and_the_rest_kept(sample_searcher, store):
    invented = "Rotated keys stay valid for 45 days after rotation [1]."
    with FakeOpenAI(responder=lambda b: Reply(f"{_faithful(b)} {invented}")) as server:
        ans = _engine(sample_searcher, store, server).answer(Question(QUESTION))
        kept = _faithful(server.completions[0].body)
    assert ans.text == kept and "45" not in ans.text
    assert ans.composer_note == "check dropped 1 of 3 sentences"
    assert ans.check["drop_reasons"] == {"not in the cited passages": 1}
    row = _row(store, ans)
    assert row["answer"] == kept and row["composer_note"] == "check dropped 1 of 3 sentences"


def test_a_citation_of_a_passage_that_does_not_exist_is_an_error(sample_searcher, store):
    with FakeOpenAI(
        responder=lambda b: Reply(f"{_faithful(b)} Keys can also be rotated by email [7].")
    ) as server:
        ans = _engine(sample_searcher, store, server).answer(Question(QUESTION))
        kept = _faithful(server.completions[0].body)
    assert ans.text == kept and "[7]" not in ans.text
    assert ans.check["bad_citations"] == 1
    assert _row(store, ans)["composer_note"] == "check dropped 1 of 3 sentences"


def test_a_reply_citing_only_missing_passages_falls_back(sample_searcher, store, extractive_answer):
    with FakeOpenAI(responder=lambda b: Reply(_faithful(b, cite="[9]"))) as server:
        ans = _engine(sample_searcher, store, server).answer(Question(QUESTION))
    note = "fallback: check kept 0 of 2 claims (2 cite passages that do not exist)"
    assert ans.text == extractive_answer and ans.composer == ExtractiveComposer.name
    assert ans.composer_note == note
    row = _row(store, ans)
    assert row["composer"] == ExtractiveComposer.name and row["composer_note"] == note


def test_a_reply_without_citations_falls_back_to_the_extractive_answer(
    sample_searcher, store, extractive_answer
):
    def uncited(body: dict) -> Reply:
        return Reply(" ".join(sentences(prompt_passages(body)[1])))

    with FakeOpenAI(responder=uncited) as server:
        ans = _engine(sample_searcher, store, server).answer(Question(QUESTION))
    assert ans.text == extractive_answer and not ans.unanswered
    assert ans.composer_note == "fallback: check kept 0 of 2 claims"
    assert ans.check["drop_reasons"] == {"no citation": 2}
    assert _row(store, ans)["composer_note"] == "fallback: check kept 0 of 2 claims"


def test_the_model_saying_not_in_the_docs_declines_with_closest_pages(sample_searcher, store):
    with FakeOpenAI([Reply("Not in the docs.")]) as server:
        ans = _engine(sample_searcher, store, server).answer(Question(QUESTION))
    assert ans.unanswered and ans.text.startswith(NOT_FOUND)
    assert ans.sources  # the closest pages are listed
    assert ans.composer == f"llm:{MODEL}" and ans.composer_note == "model: not in the docs"
    row = _row(store, ans)
    assert row["unanswered"] is True and row["composer_note"] == "model: not in the docs"
    assert row["answer"] == ans.text


@pytest.mark.parametrize("asked", [True, False], ids=["stream-asked", "streams-unasked"])
def test_a_streamed_reply_is_read_whole(sample_searcher, store, asked):
    with FakeOpenAI(responder=lambda b: Reply(_faithful(b), stream=True)) as server:
        ans = _engine(sample_searcher, store, server, stream=asked).answer(Question(QUESTION))
        body = server.completions[0].body
    assert bool(body.get("stream")) is asked
    assert ans.text == _faithful(body) and ans.composer == f"llm:{MODEL}"
    assert _row(store, ans)["composer_note"] is None


def test_a_server_that_times_out_gives_the_extractive_answer_in_time(
    sample_searcher, store, extractive_answer
):
    with FakeOpenAI([Reply("too late [1].", delay_s=4.0)]) as server:
        eng = _engine(sample_searcher, store, server, timeout_s=1.0)
        t = time.perf_counter()
        ans = eng.answer(Question(QUESTION))
        took = time.perf_counter() - t
    assert ans.text == extractive_answer and ans.composer_note == "fallback: timeout"
    assert took < 3.5  # the deadline, plus the search; not the server's 4 s
    row = _row(store, ans)
    assert row["composer"] == ExtractiveComposer.name
    assert row["composer_note"] == "fallback: timeout"


def test_429_then_200_is_retried_and_answers(sample_searcher, store):
    with FakeOpenAI(responder=None) as server:
        replies = iter([Reply(status=429)])

        def once_limited(body: dict) -> Reply:
            return next(replies, None) or Reply(_faithful(body))

        server.responder = once_limited
        ans = _engine(sample_searcher, store, server).answer(Question(QUESTION))
        assert len(server.completions) == 2
        body = server.completions[-1].body
    assert ans.text == _faithful(body) and ans.composer_note is None
    assert _row(store, ans)["composer"] == f"llm:{MODEL}"


def test_persistent_500_is_retried_within_the_deadline_then_falls_back(
    sample_searcher, store, extractive_answer
):
    with FakeOpenAI([Reply(status=500)]) as server:
        eng = _engine(sample_searcher, store, server, timeout_s=1.5)
        t = time.perf_counter()
        ans = eng.answer(Question(QUESTION))
        took = time.perf_counter() - t
        tries = len(server.completions)
    assert tries >= 2 and took < 4.0
    assert ans.text == extractive_answer
    assert _row(store, ans)["composer_note"] == "fallback: server error (500)"


@pytest.mark.parametrize(
    ("reply", "note"),
    [
        (Reply(raw=b'{"id": "x", "choices": [{"message": {"content": "hi [1]"'), "malformed reply"),
        (Reply(raw=b'{"id": "x", "object": "chat.completion", "choices": []}'), "malformed reply"),
        (Reply(""), "empty reply"),
        (Reply(refusal="I can't help with that."), "refusal"),
        (Reply(status=401), "server refused (401)"),
    ],
    ids=["invalid-json", "no-choices", "empty", "refusal", "401"],
)
def test_unusable_replies_give_the_extractive_answer_with_the_reason(
    sample_searcher, store, extractive_answer, reply, note
):
    with FakeOpenAI([reply]) as server:
        ans = _engine(sample_searcher, store, server).answer(Question(QUESTION))
        assert len(server.completions) == 1  # not retried
    assert ans.text == extractive_answer and ans.composer_note == f"fallback: {note}"
    assert _row(store, ans)["composer_note"] == f"fallback: {note}"


def test_an_unreachable_server_falls_back_at_once(sample_searcher, store, extractive_answer):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    composer = LLMComposer(
        LLMConfig(f"http://127.0.0.1:{port}/v1", MODEL, timeout_s=5.0), ExtractiveComposer()
    )
    eng = AnswerEngine(sample_searcher, composer, recorder=store.interactions)
    t = time.perf_counter()
    ans = eng.answer(Question(QUESTION))
    assert time.perf_counter() - t < 4.0
    assert ans.text == extractive_answer and ans.composer_note == "fallback: unreachable"
    assert _row(store, ans)["composer_note"] == "fallback: unreachable"


class _Shouty:
    version = "style-shout"

    def rewrite(self, draft, question):
        return draft.upper(), "rewritten"


def test_the_style_model_still_rewrites_the_checked_draft(sample_searcher, store):
    with FakeOpenAI(responder=lambda b: Reply(_faithful(b))) as server:
        composer = LLMComposer(LLMConfig(server.base_url, MODEL), ExtractiveComposer())
        eng = AnswerEngine(
            sample_searcher,
            composer,
            rewriter=_Shouty(),
            recorder=store.interactions,
            config=EngineConfig(style_by_default=True),
        )
        ans = eng.answer(Question(QUESTION))
        checked = _faithful(server.completions[0].body)
    assert ans.draft == checked and ans.text == checked.upper() and ans.style_used
    row = _row(store, ans)
    assert row["draft"] == checked and row["composer"] == f"llm:{MODEL}"


def test_the_api_key_is_sent_but_never_logged_or_shown(sample_searcher, store, caplog):
    key = "sk-test-NEVER-LOG-THIS"
    with FakeOpenAI([Reply(status=503)]) as server:
        composer = LLMComposer(
            LLMConfig(server.base_url, MODEL, api_key=key, timeout_s=0.8), ExtractiveComposer()
        )
        with caplog.at_level(logging.DEBUG):
            engine = AnswerEngine(sample_searcher, composer, recorder=store.interactions)
            engine.answer(Question(QUESTION))
        assert server.completions[0].headers.get("authorization") == f"Bearer {key}"
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "llm retry" in logged and key not in logged
    assert key not in repr(composer) and key not in repr(composer.config)
