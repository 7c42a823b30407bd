"""Block Kit rendering: an `Answer` becomes Slack messages; votes get their prompts and modal.

Pure functions over plain data, so every Slack limit this module respects (3,000 characters
per section, 50 blocks per message, 75 per button label) is unit-testable without a server.
Action ids are the contract with `askdesk.bots.slack.app`, which routes clicks by them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from askdesk.bots.common import split_text
from askdesk.bots.surface import Prompt, ReasonChoice
from askdesk.core.types import Answer, Source
from askdesk.feedback.reasons import Reason, parse_reason

SECTION_LIMIT = 3000  # characters of mrkdwn in one section block
MAX_BLOCKS = 50  # blocks in one message
FALLBACK_LIMIT = 3000  # notification text; the blocks carry the whole answer

UP, DOWN, HUMAN = "askdesk_up", "askdesk_down", "askdesk_human"
REASON_PREFIX, COMMENT = "askdesk_reason_", "askdesk_comment"
COMMENT_MODAL = "askdesk_comment_modal"
COMMENT_BLOCK = COMMENT_INPUT = "comment"

Blocks = list[dict[str, Any]]


@dataclass(frozen=True)
class Message:
    """One chat.postMessage worth of answer: fallback text plus at most 50 blocks."""

    text: str
    blocks: Blocks


# -- Markdown → Slack mrkdwn -----------------------------------------------------------------
_FENCE = re.compile(r"(```[^\n`]*\n.*?```)", re.S)  # fenced code, kept verbatim
_INLINE_CODE = re.compile(r"(`[^`\n]+`)")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![*\w])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![*\w])")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_STAR_ITEM = re.compile(r"^([ \t]*)[*+][ \t]+", re.M)


def escape(text: str) -> str:
    """Slack reads &, < and > as control characters everywhere, code included."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """The answer's Markdown in Slack's dialect; code (fenced or inline) is only escaped.

    Slack shows a fence's language tag as a line of code, so it is dropped.
    """
    out: list[str] = []
    for i, part in enumerate(_FENCE.split(markdown)):
        if i % 2:
            body = part.split("\n", 1)[1] if "\n" in part else part[3:]
            out.append("```\n" + escape(body))
        else:
            out.append(_prose(part))
    return "".join(out)


def _prose(text: str) -> str:
    pieces = _INLINE_CODE.split(text)
    return "".join(escape(p) if i % 2 else _markup(p) for i, p in enumerate(pieces))


def _markup(text: str) -> str:
    links: list[str] = []

    def hold(m: re.Match[str]) -> str:  # links are escaped on their own, then put back
        links.append(f"<{_link(m.group(2), m.group(1))}>")
        return f"\x00{len(links) - 1}\x00"

    text = escape(_LINK.sub(hold, text))
    text = _ITALIC.sub(r"_\1_", text)
    text = _BOLD.sub(r"*\2*", text)
    text = _HEADING.sub(r"*\1*", text)
    text = _STAR_ITEM.sub(r"\1• ", text)
    return re.sub("\x00(\\d+)\x00", lambda m: links[int(m.group(1))], text)


def _link(url: str, label: str) -> str:
    safe_url = url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    return f"{escape(safe_url)}|{escape(label).replace('|', '¦')}"


def plain(text: str, limit: int) -> str:
    """Notification text: no markup needed, only the length cap."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the answer ------------------------------------------------------------------------------
def source_line(source: Source) -> str:
    label = source.title or source.path
    if source.url:
        heading = f" › {escape(source.heading)}" if source.heading else ""
        return f"*[{source.n}]* <{_link(source.url, label)}>{heading}"
    return f"*[{source.n}]* {escape(source.label)}"


def feedback_actions(interaction_id: int) -> dict[str, Any]:
    value = str(interaction_id)
    return {
        "type": "actions",
        "block_id": "askdesk_feedback",
        "elements": [
            _button("👍 Helpful", UP, value),
            _button("👎 Not helpful", DOWN, value),
            _button("Talk to a human", HUMAN, value),
        ],
    }


def answer_messages(answer: Answer) -> list[Message]:
    """The answer as one or more messages, feedback buttons on the last.

    Buttons need a recorded interaction and a real answer: small talk is not recorded, and an
    apology (`answer.error`) has nothing to rate.
    """
    body: Blocks = []
    if answer.notice:
        body.append(_context(escape(answer.notice)))
    pieces = split_text(to_mrkdwn(answer.text), SECTION_LIMIT)
    body += [_section(piece) for piece in pieces if piece.strip()]
    if answer.sources:
        lines = "\n".join(source_line(s) for s in answer.sources)
        body += [_section(p) for p in split_text("*Sources*\n" + lines, SECTION_LIMIT)]
    if answer.interaction_id is not None and not answer.error:
        body.append(feedback_actions(answer.interaction_id))
    fallback = plain(escape(answer.text), FALLBACK_LIMIT)
    return [
        Message(fallback if i == 0 else "(continued)", body[i : i + MAX_BLOCKS])
        for i in range(0, len(body), MAX_BLOCKS)
    ]


# -- after a vote ----------------------------------------------------------------------------
def prompt_blocks(text: str, prompt: Prompt) -> Blocks:
    """A vote's follow-up, shown to the clicker only: `text`, then the prompt's buttons —
    one per 👎 reason (so the dashboard can tell facts from tone), or "Add a comment"."""
    if isinstance(prompt, ReasonChoice):
        elements = [
            _button(r.label, REASON_PREFIX + r.value, str(prompt.interaction_id)) for r in Reason
        ]
        block_id = "askdesk_reasons"
    else:
        value = f"{prompt.interaction_id}:{prompt.reason}"
        elements, block_id = [_button("Add a comment", COMMENT, value)], "askdesk_comment"
    return [_section(escape(text)), {"type": "actions", "block_id": block_id, "elements": elements}]


def _reason_label(code: str) -> str:
    reason = parse_reason(code)
    return reason.label if reason is not None else code


def comment_modal(interaction_id: int, reason: str, channel: str, thread: str | None) -> dict:
    metadata = {"i": interaction_id, "r": reason, "c": channel, "t": thread}
    return {
        "type": "modal",
        "callback_id": COMMENT_MODAL,
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": "Answer feedback"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _context(f"Reason: *{escape(_reason_label(reason))}*"),
            {
                "type": "input",
                "block_id": COMMENT_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "What should the answer have said?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": COMMENT_INPUT,
                    "multiline": True,
                    "max_length": 2000,
                },
            },
        ],
    }


def parse_modal(view: dict[str, Any]) -> tuple[int, str, str | None, str | None, str | None]:
    """(interaction id, reason, channel, thread, comment or None) from a submitted modal."""
    meta = json.loads(view.get("private_metadata") or "{}")
    state = view.get("state", {}).get("values", {})
    comment = (state.get(COMMENT_BLOCK, {}).get(COMMENT_INPUT, {}).get("value") or "").strip()
    return int(meta["i"]), str(meta["r"]), meta.get("c"), meta.get("t"), comment or None


# -- escalation ------------------------------------------------------------------------------
_SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_SLACK_MENTION = re.compile(r"^<(@[UW][A-Z0-9]+|!subteam\^S[A-Z0-9]+|!here|!channel)(\|[^>]*)?>$")


def mention(target: str) -> str | None:
    """`U…`/`W…` → <@U…>, `S…` (a user group) → <!subteam^S…>; Slack's own mention syntax
    passes through. Anything else is skipped: `escalate_to` is shared with Discord, whose
    ids (`role:…`, `<@&…>`, numbers) must not be tagged here."""
    target = target.strip()
    if _SLACK_MENTION.match(target):
        return target
    if not _SLACK_ID.match(target):
        return None
    return f"<!subteam^{target}>" if target.startswith("S") else f"<@{target}>"


def escalation_text(targets: tuple[str, ...], asker: str, *, direct: bool = False) -> str:
    """The thread reply for "Talk to a human". In a DM a tag notifies no one, so it says whom
    to contact instead; with nobody configured it says that, rather than pretend."""
    tags = " ".join(t for t in (mention(x) for x in targets) if t)
    if not tags:
        return (
            f"<@{asker}> asked for a human, but no one is set up to take questions from here "
            "yet (an admin can set `escalate_to`). Please ask your team directly."
        )
    if direct:
        return (
            f"I can't bring anyone into a direct message. {tags} can help: message them, or "
            "ask in a channel they are in."
        )
    return f"{tags} — <@{asker}> would like a human to help with this question."


# -- small builders --------------------------------------------------------------------------
def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _context(mrkdwn: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}


def _button(label: str, action_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "value": value,
        "text": {"type": "plain_text", "text": label[:75], "emoji": True},
    }
