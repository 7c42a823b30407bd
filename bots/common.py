"""What every chat surface shares: per-channel behaviour, message splitting, thumbs reactions.

Nothing here knows Slack or Discord; each adapter imports these and does its own rendering.
The 👎 reasons are `askdesk.feedback.reasons.Reason` (one vocabulary for every layer).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

UP_REACTIONS = frozenset({"+1", "thumbsup", "👍"})
DOWN_REACTIONS = frozenset({"-1", "thumbsdown", "👎"})


def reaction_value(name: str) -> int | None:
    """+1 / -1 for a thumbs reaction (any skin tone), None for anything else."""
    base = name.split("::")[0]
    base = re.sub("[\U0001f3fb-\U0001f3ff]", "", base)  # Discord skin-tone modifiers
    if base in UP_REACTIONS:
        return 1
    if base in DOWN_REACTIONS:
        return -1
    return None


@dataclass(frozen=True)
class ChannelConfig:
    """How the bot behaves in one channel; unknown channels get the defaults."""

    paths: tuple[str, ...] = ()  # restrict retrieval to these source path prefixes
    respond_to: Literal["mentions", "all"] = "mentions"
    escalate_to: tuple[str, ...] = ()  # user / group / role ids to tag on "Talk to a human"
    # "thread": in a thread askdesk answered in, a reply without a mention is a follow-up;
    # "mention": only messages that mention askdesk (or reply to its answer) are answered
    follow_ups: Literal["thread", "mention"] = "thread"


@dataclass(frozen=True)
class ChannelDirectory:
    default: ChannelConfig = ChannelConfig()
    channels: Mapping[str, ChannelConfig] = field(default_factory=dict)

    def get(self, channel_id: str | None) -> ChannelConfig:
        return self.channels.get(channel_id or "", self.default)

    def lookup(self, ids: Sequence[str]) -> ChannelConfig:
        """The settings of the first configured id (a thread's own, then its parent's…),
        else the defaults."""
        for channel_id in ids:
            if channel_id in self.channels:
                return self.channels[channel_id]
        return self.default


def strip_mentions(text: str, *mention_patterns: str) -> str:
    for pattern in mention_patterns:
        text = re.sub(pattern, " ", text)
    return " ".join(text.split()) if "\n" not in text else text.strip()


def split_text(text: str, limit: int) -> list[str]:
    """Split a long answer into pieces under `limit`, at paragraph, then line, then word breaks.

    A code fence cut by a split is closed at the end of one piece and reopened in the next, so
    every piece renders correctly on its own.
    """
    if len(text) <= limit:
        return [text]
    full, limit = limit, max(limit - 24, 1)  # room to close and reopen a code fence
    pieces: list[str] = []
    current = ""
    for para in re.split(r"(\n\n)", text):
        if len(current) + len(para) <= limit:
            current += para
            continue
        if current.strip():
            pieces.append(current)
        current = ""
        while len(para) > limit:
            cut = para.rfind("\n", 0, limit)
            if cut <= 0:
                cut = para.rfind(" ", 0, limit)
            if cut <= 0:
                cut = limit
            pieces.append(para[:cut])
            para = para[cut:].lstrip("\n ")
        current = para if para != "\n\n" else ""
    if current.strip():
        pieces.append(current)
    out = _balance_fences([p.strip("\n") for p in pieces if p.strip()])
    if any(len(p) > full for p in out):  # cannot happen with the margin; never send too much
        out = [q for p in out for q in (p[i : i + full] for i in range(0, len(p), full))]
    return out


def _balance_fences(pieces: list[str]) -> list[str]:
    out: list[str] = []
    carry = ""
    for p in pieces:
        p = carry + p
        carry = ""
        if p.count("```") % 2 == 1:
            lang = re.findall(r"```(\w*)", p)[-1]
            lang = lang if len(lang) <= 15 else ""  # keeps the reopened fence inside the margin
            p += "\n```"
            carry = f"```{lang}\n"
        out.append(p)
    return out
