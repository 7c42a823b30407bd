"""Answer → Discord messages, on constructed answers: limits, sources embed, who gets pinged."""

from __future__ import annotations

from askdesk.bots.discord.render import (
    EMBED_DESCRIPTION_LIMIT,
    MESSAGE_LIMIT,
    escalation_targets,
    render_answer,
)
from askdesk.core.types import Answer, Source


def source(n: int, **kw) -> Source:
    base = {"path": f"guides/page-{n}.md", "title": f"Page {n}", "heading": "Setup", "score": 0.8}
    return Source(n, **{**base, **kw})


def answer(text: str, *sources: Source, iid: int | None = 7, **kw) -> Answer:
    a = Answer(text, list(sources), 0.8, False, question="q", **kw)
    a.interaction_id = iid
    return a


def test_a_long_answer_is_split_under_the_limit_with_the_embed_and_buttons_last():
    text = "\n\n".join(f"Step {i}: " + "configure the relay and retry " * 12 for i in range(30))
    code = "```bash\n" + "\n".join(f"tw deploy --step {i}" for i in range(150)) + "\n```"
    rendered = render_answer(answer(text + "\n\n" + code, source(1)))
    assert len(rendered.pieces) > 2
    assert all(0 < len(p) <= MESSAGE_LIMIT for p in rendered.pieces)
    assert all(p.count("```") % 2 == 0 for p in rendered.pieces)  # fences closed per piece
    joined = " ".join(
        " ".join(p.replace("```bash", "").replace("```", "").split()) for p in rendered.pieces
    )
    assert "Step 29:" in joined and "tw deploy --step 149" in joined
    assert rendered.embed is not None and rendered.feedback


def test_sources_are_numbered_with_title_path_and_a_link_when_there_is_a_url():
    rendered = render_answer(
        answer(
            "Rotate it [1]; see also [2].",
            source(1, url="https://docs.example.com/guides/page 1.md"),
            source(2, title="Keys [beta]", heading=""),
        )
    )
    embed = rendered.embed
    assert embed is not None and embed.title == "Sources" and embed.footer.text == "answer #7"
    first, second = embed.description.splitlines()
    assert first == (
        "**[1]** [Page 1](https://docs.example.com/guides/page%201.md) — `guides/page-1.md › Setup`"
    )
    assert second == "**[2]** Keys beta — `guides/page-2.md`"  # brackets can't break the markup


def test_the_embed_stays_within_discords_limit():
    many = [source(i, title="T" * 300, heading="H" * 300) for i in range(1, 40)]
    embed = render_answer(answer("x", *many)).embed
    assert embed is not None and len(embed.description) <= EMBED_DESCRIPTION_LIMIT


def test_not_found_lists_the_closest_pages_and_still_takes_feedback():
    a = answer("I couldn't find this in the docs, so I won't guess.", source(1))
    a.unanswered = True
    rendered = render_answer(a)
    assert rendered.embed.title == "Closest pages" and rendered.feedback


def test_apologies_and_unrecorded_small_talk_get_no_buttons():
    sorry = answer("Sorry — something went wrong", iid=12, error="RuntimeError")
    assert not render_answer(sorry).feedback and render_answer(sorry).embed is None
    assert not render_answer(answer("Hi! Ask me anything", iid=None)).feedback


def test_a_notice_goes_before_the_answer():
    rendered = render_answer(answer("The answer.", notice="Your message is long"))
    assert rendered.pieces == ["*Your message is long*\n\nThe answer."]


def test_escalation_entries_become_role_and_user_mentions():
    targets = escalation_targets(
        ["role:111", "user:222", "<@&333>", "<@444>", "<@!555>", "666", "777", "U0SLACK", "S0X"],
        guild_role_ids=[666],
    )
    assert targets.role_ids == [111, 333, 666]
    assert targets.user_ids == [222, 444, 555, 777]
    assert targets.mentions == "<@&111> <@&333> <@&666> <@222> <@444> <@555> <@777>"
    allowed = targets.allowed_mentions().to_dict()
    assert allowed["roles"] == [111, 333, 666] and allowed["parse"] == []
    assert not escalation_targets([]) and not escalation_targets(["U123"])
