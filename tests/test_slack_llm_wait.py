"""Issue 22 part 3: while a slow LLM is waited for, the Slack question shows 👀; the
extractive answer is posted at the first-token deadline and 👀 goes.

The real Bolt app over real HTTP (as tests/test_slack_bot.py), the fake Slack Web API, the
real SupportDesk with the LLM composer talking to an OpenAI-compatible server on 127.0.0.1
that keeps its stream open with SSE comments and never sends a token.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from askdesk.bots.common import ChannelConfig, ChannelDirectory
from askdesk.bots.slack.app import build_slack_app
from askdesk.bots.slack.config import web_client
from askdesk.bots.slack.run import serve_http
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine
from askdesk.core.llm_compose import LLMComposer, LLMConfig
from askdesk.core.types import Question
from askdesk.feedback.store import FeedbackStore
from askdesk.testing.fake_openai import FakeOpenAI, Reply
from askdesk.testing.fake_slack import FakeSlackAPI
from askdesk.testing.slack_payloads import SECRET, SlackSender, mention
from tests.waiting import wait_until

TOKEN = "xoxb-111-222-secretbottoken"
QUESTION = "How do I rotate my API key?"
FIRST_TOKEN_S = 2.0


def test_eyes_show_while_a_silent_llm_is_waited_for_then_the_extractive_answer(
    tmp_path, sample_searcher
):
    extractive = AnswerEngine(sample_searcher, ExtractiveComposer()).answer(Question(QUESTION))
    store = FeedbackStore(f"sqlite:///{tmp_path / 'slack.db'}")
    with (
        FakeOpenAI([Reply(forever="comments", every_s=0.1, stream=True)]) as llm,
        FakeSlackAPI() as api,
    ):
        config = LLMConfig(llm.base_url, "fake-model", stream=True, first_token_s=FIRST_TOKEN_S)
        composer = LLMComposer(config, ExtractiveComposer())
        engine = AnswerEngine(
            sample_searcher, composer, recorder=store.interactions, asker_salt="s"
        )
        desk = SupportDesk(engine, store, "s")
        pool = ThreadPoolExecutor(2)
        app = build_slack_app(
            desk,
            ChannelDirectory(ChannelConfig(), {}),
            client=web_client(TOKEN, api.base_url),
            signing_secret=SECRET,
            executor=pool,
        )
        server = serve_http(app, "127.0.0.1", 0, signing_secret=SECRET)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            event = mention(QUESTION)
            sender = SlackSender(f"http://127.0.0.1:{server.server_port}/slack/events")
            assert sender.event(event).status_code == 200
            api.wait_for("reactions.remove", timeout=60)
            post = wait_until(lambda: api.posts_in(event["ts"]), timeout=5)[0]
        finally:
            server.shutdown()
            server.server_close()
            pool.shutdown(wait=True)
    calls = [c for c in api.calls if c["method"].startswith(("reactions", "chat.post"))]
    assert [c["method"] for c in calls] == ["reactions.add", "chat.postMessage", "reactions.remove"]
    assert calls[0]["body"]["name"] == "eyes"
    assert extractive.text.split("\n")[0] in post["text"]  # the extractive answer, posted
    # 👀 was up the whole time the model was waited for
    assert calls[1]["t"] - calls[0]["t"] >= 0.9 * FIRST_TOKEN_S
    assert store.interactions.recent(1)[0]["composer_note"] == "fallback: timeout (first token)"
