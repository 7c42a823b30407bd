"""The answer's buttons, the 👎 reason menu and the comment form — stateless by design.

Every component carries the interaction id (and, where needed, the reason) in its custom_id
and is a `discord.ui.DynamicItem`, so a click on a message sent before a restart is parsed
back from the custom_id alone: nothing lives in memory between events. Modals cannot be
DynamicItems, so the comment form is likewise read back from its custom_id by
`handle_comment_submit`, which the bot calls for every modal submission.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bots.common import REASONS
from bots.discord.render import escalation_targets

if TYPE_CHECKING:
    from bots.discord.bot import AskdeskBot

log = logging.getLogger(__name__)

THANKS = "Thanks for the feedback! 👍"
ASK_WHY = "Sorry it didn't help. What was wrong? (Optional: your 👎 is already counted.)"
REASON_NOTED = "Thanks — noted as “{label}”. Anything to add?"
COMMENT_SAVED = "Thanks — your comment is saved."
LOST = "Sorry, I can't find that answer in my records any more, so nothing was saved."
NOBODY = (
    "Nobody is set up to take over questions in this channel yet, so I couldn't ping anyone. "
    "I've flagged this answer for the team to review."
)
IN_DM = (
    "I've flagged this answer for the team. People can't see our private chat: for a human, "
    "ask in your server's support channel."
)
HANDOFF = "{mentions} — {user} would like a human to take over this question (answer #{iid}):"

COMMENT_FORM = re.compile(r"askdesk:comment-form:(?P<iid>\d+):(?P<reason>[a-z_]+)")


def _bot(interaction: discord.Interaction[Any]) -> AskdeskBot:
    return interaction.client  # type: ignore[return-value]


def feedback_view(interaction_id: int) -> discord.ui.View:
    """👍 / 👎 / Talk to a human, for the last message of an answer."""
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton("up", interaction_id))
    view.add_item(FeedbackButton("down", interaction_id))
    view.add_item(EscalateButton(interaction_id))
    return view


async def _vote(
    interaction: discord.Interaction[Any],
    interaction_id: int,
    value: int,
    *,
    reason: str | None = None,
    comment: str | None = None,
) -> bool:
    """Record the clicker's vote (the store keeps one per user: the last one wins)."""
    desk = _bot(interaction).desk
    try:
        await asyncio.to_thread(
            desk.vote,
            interaction_id,
            "discord",
            str(interaction.user.id),
            value,
            reason=reason,
            comment=comment,
            source="button",
        )
    except ValueError:
        log.warning("vote on an unknown answer", extra={"interaction_id": interaction_id})
        await interaction.response.send_message(LOST, ephemeral=True)
        return False
    return True


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"askdesk:vote:(?P<vote>up|down):(?P<iid>\d+)",
):
    def __init__(self, vote: str, interaction_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                emoji="👍" if vote == "up" else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"askdesk:vote:{vote}:{interaction_id}",
            )
        )
        self.vote = vote
        self.interaction_id = interaction_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> FeedbackButton:
        return cls(match["vote"], int(match["iid"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if self.vote == "up":
            if await _vote(interaction, self.interaction_id, 1):
                await interaction.response.send_message(THANKS, ephemeral=True)
            return
        if await _vote(interaction, self.interaction_id, -1):
            view = discord.ui.View(timeout=None)
            view.add_item(ReasonSelect(self.interaction_id))
            await interaction.response.send_message(ASK_WHY, view=view, ephemeral=True)


class ReasonSelect(
    discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"askdesk:reason:(?P<iid>\d+)"
):
    """The 👎 follow-up: the same four reasons as every platform (bots.common.REASONS)."""

    def __init__(self, interaction_id: int) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"askdesk:reason:{interaction_id}",
                placeholder="What was wrong?",
                options=[
                    discord.SelectOption(label=lbl, value=key) for key, lbl in REASONS.items()
                ],
            )
        )
        self.interaction_id = interaction_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ReasonSelect:
        return cls(int(match["iid"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        values = self.item.values or (interaction.data or {}).get("values", [])
        reason = values[0] if values and values[0] in REASONS else None
        if reason is None or not await _vote(interaction, self.interaction_id, -1, reason=reason):
            return
        view = discord.ui.View(timeout=None)
        view.add_item(CommentButton(self.interaction_id, reason))
        await interaction.response.edit_message(
            content=REASON_NOTED.format(label=REASONS[reason]), view=view
        )


class CommentButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"askdesk:comment:(?P<iid>\d+):(?P<reason>[a-z_]+)",
):
    def __init__(self, interaction_id: int, reason: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Add a comment",
                style=discord.ButtonStyle.secondary,
                custom_id=f"askdesk:comment:{interaction_id}:{reason}",
            )
        )
        self.interaction_id = interaction_id
        self.reason = reason

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> CommentButton:
        return cls(int(match["iid"]), match["reason"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        modal = CommentModal(self.interaction_id, self.reason)
        await interaction.response.send_modal(modal)
        modal.stop()  # the submission is handled from its custom_id, even after a restart


class CommentModal(discord.ui.Modal):
    def __init__(self, interaction_id: int, reason: str) -> None:
        super().__init__(
            title="What should the answer have said?",
            custom_id=f"askdesk:comment-form:{interaction_id}:{reason}",
        )
        self.add_item(
            discord.ui.TextInput(
                label="Comment (optional)",
                custom_id="comment",
                style=discord.TextStyle.paragraph,
                required=False,
                max_length=1000,
            )
        )


async def handle_comment_submit(interaction: discord.Interaction[Any]) -> bool:
    """Store the comment of a submitted comment form; False if the modal isn't ours."""
    data: dict[str, Any] = dict(interaction.data or {})
    match = COMMENT_FORM.fullmatch(str(data.get("custom_id", "")))
    if match is None:
        return False
    reason = match["reason"] if match["reason"] in REASONS else None
    comment = _field_value(data.get("components", []), "comment").strip() or None
    if await _vote(interaction, int(match["iid"]), -1, reason=reason, comment=comment):
        if interaction.message is not None:
            await interaction.response.edit_message(content=COMMENT_SAVED, view=None)
        else:
            await interaction.response.send_message(COMMENT_SAVED, ephemeral=True)
    return True


def _field_value(components: list[dict[str, Any]], custom_id: str) -> str:
    """Find a text input's value in a modal submission (action rows or labels nest it)."""
    for c in components:
        if c.get("custom_id") == custom_id:
            return str(c.get("value") or "")
        nested = c.get("components") or ([c["component"]] if "component" in c else [])
        found = _field_value(nested, custom_id)
        if found:
            return found
    return ""


class EscalateButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"askdesk:human:(?P<iid>\d+)"
):
    def __init__(self, interaction_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Talk to a human",
                style=discord.ButtonStyle.secondary,
                custom_id=f"askdesk:human:{interaction_id}",
            )
        )
        self.interaction_id = interaction_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> EscalateButton:
        return cls(int(match["iid"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = _bot(interaction)
        try:
            row = await asyncio.to_thread(bot.desk.escalate, self.interaction_id)
        except ValueError:
            await interaction.response.send_message(LOST, ephemeral=True)
            return
        if interaction.guild_id is None:
            await interaction.response.send_message(IN_DM, ephemeral=True)
            return
        roles = [r.id for r in interaction.guild.roles] if interaction.guild else []
        targets = escalation_targets(bot.config_for(interaction.channel).escalate_to, roles)
        if not targets:
            await interaction.response.send_message(NOBODY, ephemeral=True)
            return
        head = HANDOFF.format(
            mentions=targets.mentions, user=interaction.user.mention, iid=self.interaction_id
        )
        await interaction.response.send_message(
            f"{head}\n{_quote((row or {}).get('question', ''), 2000 - len(head) - 1)}",
            allowed_mentions=targets.allowed_mentions(),
        )


def _quote(text: str, limit: int) -> str:
    """Quote the question within `limit`: "> " per line at most doubles the length."""
    text = text.strip()[: max(limit // 2, 0)]
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])[:limit]
