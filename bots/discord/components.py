"""The answer's buttons, the 👎 reason menu and the comment form — stateless by design.

Every component carries the interaction id (and, where needed, the reason) in its custom_id
and is a `discord.ui.DynamicItem`, so a click on a message sent before a restart is parsed
back from the custom_id alone: nothing lives in memory between events. Modals cannot be
DynamicItems, so the comment form is likewise read back from its custom_id by
`handle_comment_submit`, which the bot calls for every modal submission.

A callback only names what was clicked and hands it to the client's `on_component` (the
`ComponentHandler` protocol below): this module never imports the bot, whose delivery core
decides what happens.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol, cast

import discord

from askdesk.feedback.reasons import Reason, parse_reason

log = logging.getLogger(__name__)

COMMENT_FORM = re.compile(r"askdesk:comment-form:(?P<iid>\d+):(?P<reason>[a-z_]+)")


class ComponentHandler(Protocol):
    """What the client does with a click: `action` is "up", "down", "reason", "comment",
    "human" or "submit" (the comment form; `comment` holds its text)."""

    async def on_component(
        self,
        action: str,
        interaction: discord.Interaction[Any],
        interaction_id: int,
        reason: str | None = None,
        comment: str | None = None,
    ) -> None: ...


def _handler(interaction: discord.Interaction[Any]) -> ComponentHandler:
    return cast(ComponentHandler, interaction.client)


def feedback_view(interaction_id: int) -> discord.ui.View:
    """👍 / 👎 / Talk to a human, for the last message of an answer."""
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton("up", interaction_id))
    view.add_item(FeedbackButton("down", interaction_id))
    view.add_item(EscalateButton(interaction_id))
    return view


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
        await _handler(interaction).on_component(self.vote, interaction, self.interaction_id)


class ReasonSelect(
    discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"askdesk:reason:(?P<iid>\d+)"
):
    """The 👎 follow-up: the same reasons as every platform (`askdesk.feedback.reasons.Reason`)."""

    def __init__(self, interaction_id: int) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"askdesk:reason:{interaction_id}",
                placeholder="What was wrong?",
                options=[discord.SelectOption(label=r.label, value=r.value) for r in Reason],
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
        reason = parse_reason(values[0]) if values else None
        if reason is None:
            log.warning("unknown vote reason chosen")
            return
        await _handler(interaction).on_component(
            "reason", interaction, self.interaction_id, reason.value
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
        await _handler(interaction).on_component(
            "comment", interaction, self.interaction_id, self.reason
        )


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
    """Hand a submitted comment form to the client; False if the modal isn't ours."""
    data: dict[str, Any] = dict(interaction.data or {})
    match = COMMENT_FORM.fullmatch(str(data.get("custom_id", "")))
    if match is None:
        return False
    comment = _field_value(data.get("components", []), "comment").strip() or None
    await _handler(interaction).on_component(
        "submit", interaction, int(match["iid"]), match["reason"], comment
    )
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
        await _handler(interaction).on_component("human", interaction, self.interaction_id)
