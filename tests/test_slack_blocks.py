"""Block Kit rendering and the retry guard, on constructed answers: Slack's limits, mrkdwn."""

from __future__ import annotations

import json

from askdesk.bots.claims import SeenKeys
from askdesk.bots.slack.blocks import (
    COMMENT_MODAL,
    DOWN,
    HUMAN,
    MAX_BLOCKS,
    SECTION_LIMIT,
    UP,
    answer_messages,
    comment_modal,
    escalation_text,
    mention,
    parse_modal,
    source_line,
    to_mrkdwn,
)
from askdesk.core.types import Answer, Source


def _answer(text: str, *, iid: int | None = 7, error: str | None = None, sources=()) -> Answer:
    answer = Answer(text, list(sources), 0.8, False)
    answer.interaction_id = iid
    answer.error = error
    return answer


def _sections(blocks):
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_markdown_becomes_slack_mrkdwn_and_code_is_left_alone():
    md = (
        "## Rotating\nUse **the dashboard** or *the CLI*; see [the guide](https://d.io/a?x=1&y=2)."
        "\n- step one\n* step two\nCompare `a<b>` & <tag>.\n\n"
        "```bash\ntw keys rotate --name **prod** <key>\n```\nDone [1]."
    )
    out = to_mrkdwn(md)
    assert out.splitlines()[:4] == [
        "*Rotating*",
        "Use *the dashboard* or _the CLI_; see <https://d.io/a?x=1&amp;y=2|the guide>.",
        "- step one",
        "• step two",
    ]
    assert "`a&lt;b&gt;` &amp; &lt;tag&gt;." in out
    assert "```\ntw keys rotate --name **prod** &lt;key&gt;\n```" in out  # no language tag
    assert out.endswith("Done [1].")


def test_answer_message_has_text_sources_and_buttons_with_the_interaction_id():
    sources = [
        Source(1, "security/api-keys.md", "API keys", "Rotating", 0.9, url="https://d.io/keys"),
        Source(2, "faq.md", "FAQ", "Keys", 0.7),
    ]
    (message,) = answer_messages(_answer("Rotate it **now** [1][2].", sources=sources))
    sections = _sections(message.blocks)
    assert sections[0] == "Rotate it *now* [1][2]."
    assert sections[1] == (
        "*Sources*\n*[1]* <https://d.io/keys|API keys> › Rotating\n*[2]* FAQ — faq.md › Keys"
    )
    actions = message.blocks[-1]
    assert [e["action_id"] for e in actions["elements"]] == [UP, DOWN, HUMAN]
    assert {e["value"] for e in actions["elements"]} == {"7"}
    assert message.text == "Rotate it **now** [1][2]."


def test_source_without_url_or_title_shows_the_path():
    assert source_line(Source(3, "guides/x.md", "", "", 0.5)) == "*[3]* guides/x.md"


def test_apologies_and_small_talk_get_no_buttons():
    for answer in (
        _answer("Sorry — something went wrong", error="RuntimeError"),
        _answer("Hi!", iid=None),
    ):
        (message,) = answer_messages(answer)
        assert all(b["type"] != "actions" for b in message.blocks)


def test_a_long_answer_splits_into_sections_and_messages_within_slack_limits():
    paragraph = "Webhook deliveries are retried with exponential backoff. " * 40  # ~2,300 chars
    text = "\n\n".join(f"{i}. {paragraph}" for i in range(70))  # ~160k characters
    text += "\n\n```\n" + "echo step\n" * 600 + "```"
    messages = answer_messages(_answer(text, sources=[Source(1, "a.md", "A", "", 0.9)]))
    assert len(messages) >= 2
    blocks = [b for m in messages for b in m.blocks]
    assert all(len(m.blocks) <= MAX_BLOCKS for m in messages)
    assert all(len(s) <= SECTION_LIMIT for s in _sections(blocks))
    assert all(s.count("```") % 2 == 0 for s in _sections(blocks))  # fences closed per section
    assert [b["type"] for b in messages[-1].blocks][-1] == "actions"
    assert sum(b["type"] == "actions" for b in blocks) == 1  # buttons only on the last
    assert all(len(m.text) <= 3000 for m in messages)
    words = " ".join(" ".join(_sections(blocks)).split())
    assert words.count("exponential backoff") == 70 * 40


def test_escalation_tags_slack_users_and_groups_and_skips_other_ids():
    assert mention("S0HUMANS") == "<!subteam^S0HUMANS>" and mention("U0LEAD") == "<@U0LEAD>"
    assert mention("<!here>") == "<!here>" and mention("<!subteam^S1|@support>")
    assert mention("<@U0LEAD>") == "<@U0LEAD>"
    for discord in ("123456789012345678", "role:1234", "<@&1234>", "<@1234>", "user:1234"):
        assert mention(discord) is None
    text = escalation_text(("S0HUMANS", "W0ENT", "1234"), "U1")
    assert text.startswith("<!subteam^S0HUMANS> <@W0ENT> — <@U1>")
    assert "no one is set up" in escalation_text((), "U1")
    assert "no one is set up" in escalation_text(("1234",), "U1")
    dm = escalation_text(("U0LEAD",), "U1", direct=True)
    assert "can't bring anyone into a direct message" in dm and "<@U0LEAD>" in dm


def test_comment_modal_round_trips_through_its_metadata():
    view = comment_modal(9, "tone_format", "C1", "1.2")
    assert view["callback_id"] == COMMENT_MODAL and len(view["title"]["text"]) <= 24
    submitted = {
        **view,
        "state": {"values": {"comment": {"comment": {"value": "  too long  "}}}},
    }
    assert parse_modal(submitted) == (9, "tone_format", "C1", "1.2", "too long")
    assert parse_modal({**view, "state": {"values": {}}})[-1] is None
    json.dumps(view)


def test_seen_keys_claim_once_expire_and_stay_bounded():
    now = [0.0]
    seen = SeenKeys(ttl_s=10, max_keys=3, clock=lambda: now[0])
    assert seen.claim("a") and not seen.claim("a")
    now[0] = 11
    assert seen.claim("a")  # expired
    for key in "bcde":
        seen.claim(key)
    assert len(seen) == 3 and seen.claim("a")  # oldest dropped when full
