"""Answer → what Discord shows: message pieces, a sources embed, and escalation mentions.

Pure functions with no client or network, so Discord's limits (2,000 characters a message,
4,096 in an embed description) are unit-tested on constructed answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import discord

from askdesk.bots.common import split_text
from askdesk.core.types import Answer, Source

MESSAGE_LIMIT = 2000
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_COLOUR = discord.Colour.blurple()


@dataclass
class Rendered:
    """One answer as Discord messages; the embed and the buttons go on the last piece."""

    pieces: list[str]
    embed: discord.Embed | None
    feedback: bool  # offer 👍 / 👎 / Talk to a human (only for a recorded, real answer)


def render_answer(answer: Answer) -> Rendered:
    text = answer.text.strip() or "…"
    if answer.notice:
        text = f"*{answer.notice}*\n\n{text}"
    pieces = split_text(text, MESSAGE_LIMIT)
    return Rendered(
        pieces=pieces,
        embed=sources_embed(answer),
        feedback=answer.interaction_id is not None and answer.error is None,
    )


def sources_embed(answer: Answer) -> discord.Embed | None:
    """Numbered like the answer's [n] citations; a title links to the page when it has a URL."""
    if not answer.sources:
        return None
    lines: list[str] = []
    used = 0
    for source in answer.sources:
        line = source_line(source)
        if used + len(line) + 1 > EMBED_DESCRIPTION_LIMIT:
            break
        lines.append(line)
        used += len(line) + 1
    embed = discord.Embed(
        title="Closest pages" if answer.unanswered else "Sources",
        description="\n".join(lines),
        colour=EMBED_COLOUR,
    )
    if answer.interaction_id is not None:
        embed.set_footer(text=f"answer #{answer.interaction_id}")
    return embed


def source_line(source: Source) -> str:
    title = _plain(source.title or source.path)[:200]
    if source.url and source.url.startswith(("https://", "http://")):
        title = f"[{title}]({_safe_url(source.url)})"
    where = (source.path + (f" › {source.heading}" if source.heading else "")).replace("`", "'")
    return f"**[{source.n}]** {title} — `{where[:300]}`"


def _plain(text: str) -> str:
    """Titles come from documents: keep them from breaking the link or the bold markup."""
    return discord.utils.escape_markdown(re.sub(r"[\[\]]", "", " ".join(text.split())))


def _safe_url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


@dataclass
class Escalation:
    """Who "Talk to a human" pings, as mention text plus the ids allowed to be pinged."""

    user_ids: list[int] = field(default_factory=list)
    role_ids: list[int] = field(default_factory=list)

    @property
    def mentions(self) -> str:
        return " ".join([*(f"<@&{r}>" for r in self.role_ids), *(f"<@{u}>" for u in self.user_ids)])

    def allowed_mentions(self) -> discord.AllowedMentions:
        return discord.AllowedMentions(
            everyone=False,
            users=[discord.Object(u) for u in self.user_ids],
            roles=[discord.Object(r) for r in self.role_ids],
        )

    def __bool__(self) -> bool:
        return bool(self.user_ids or self.role_ids)


_ENTRY = re.compile(r"^(?P<prefix>role:|user:|<@&|<@!|<@)?(?P<id>\d+)>?$")


def escalation_targets(entries: Iterable[str], guild_role_ids: Iterable[int] = ()) -> Escalation:
    """Read `escalate_to` entries: "role:ID", "user:ID", "<@&ID>", "<@ID>" or a bare ID.

    A bare ID is a role when the server has a role with that ID, else a user. Entries that are
    not Discord snowflakes (a Slack "U…" or "S…" id in a shared global list) are skipped.
    """
    roles = set(guild_role_ids)
    out = Escalation()
    for entry in entries:
        m = _ENTRY.match(entry.strip())
        if m is None:
            continue
        snowflake = int(m["id"])
        prefix = m["prefix"]
        is_role = prefix in ("role:", "<@&") or (prefix is None and snowflake in roles)
        target = out.role_ids if is_role else out.user_ids
        if snowflake not in target:
            target.append(snowflake)
    return out
