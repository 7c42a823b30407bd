"""The Bolt app: registers listeners, and each listener only translates a payload into a call.

Events are acked by Bolt before any listener runs (`process_before_response=False`); clicks,
the slash command and the modal ack first thing. Each listener only translates a payload into
an `Incoming` or a `Click` for the delivery core (`askdesk.bots.delivery`), which decides and acts
through `SlackSurface`; answers run on the answer pool, so a burst of questions never delays
a click's ack.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient

from askdesk.bots.claims import SeenKeys
from askdesk.bots.common import ChannelDirectory, strip_mentions
from askdesk.bots.delivery import COMMENT_SAVED, SORRY, Delivery, FollowUpPolicy, Journal
from askdesk.bots.slack.blocks import (
    COMMENT,
    COMMENT_BLOCK,
    COMMENT_MODAL,
    DOWN,
    HUMAN,
    REASON_PREFIX,
    UP,
    escape,
    parse_modal,
)
from askdesk.bots.slack.surface import SlackResponder, SlackSurface
from askdesk.bots.surface import Click, Incoming, Place, SurfaceError
from askdesk.core.desk import SupportDesk
from askdesk.core.types import Question

log = logging.getLogger(__name__)

_MENTION = r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>"
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_ANSWERABLE = {None, "file_share", "thread_broadcast"}  # edits, joins, bots… are not questions
USAGE = "Ask a question after the command, e.g. `/ask how do I rotate my API key?`"


def build_slack_app(
    desk: SupportDesk,
    channels: ChannelDirectory,
    *,
    client: WebClient,
    signing_secret: str | None = None,
    executor: Executor | None = None,
    seen: SeenKeys | None = None,
    answer_workers: int = 4,
    journal: Journal | None = None,
    policy: FollowUpPolicy | None = None,
) -> App:
    """The askdesk Slack bot as a Bolt app, for Socket Mode or HTTP mode alike.

    `client` carries the bot token and the API base URL; Bolt calls `auth.test` with it
    once, here, to learn the bot's user id. Without a `signing_secret` HTTP requests are all
    rejected (a random secret nobody knows); Socket Mode does not sign requests.
    """
    seen = seen if seen is not None else SeenKeys()
    pool = executor or ThreadPoolExecutor(answer_workers, thread_name_prefix="askdesk-answer")
    surface = SlackSurface(client)
    delivery = Delivery(
        desk,
        channels,
        surface,
        claims=seen,
        journal=journal,
        executor=pool,
        policy=policy or FollowUpPolicy(),
    )
    app = App(
        client=client,
        signing_secret=signing_secret or secrets.token_hex(32),
        process_before_response=False,
        name="askdesk",
        logger=_bolt_logger(),
    )
    app.middleware(first_delivery_only(seen))
    _on_questions(app, delivery, surface, pool)
    _on_feedback(app, delivery, client)

    # Anything else that arrives is acked and dropped: a 404 would make Slack retry it.
    @app.event(re.compile(".*"))
    def on_other_event() -> None:
        pass

    @app.action(re.compile(".*"))
    def on_other_action(ack: Callable[..., None]) -> None:
        ack()

    @app.error
    def on_error(error: Exception) -> None:  # the payload holds user ids: never logged
        log.error("listener failed", exc_info=error)

    return app


def _on_questions(app: App, delivery: Delivery, surface: SlackSurface, pool: Executor) -> None:
    """Mentions, messages, 👍/👎 reactions and /ask: each becomes a question (or a vote)."""

    def take(incoming: Incoming | None) -> None:
        ask = delivery.accept(incoming) if incoming is not None else None
        if ask is not None:
            pool.submit(delivery.answer, ask)

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], context: Mapping[str, Any]) -> None:
        take(mention_incoming(event, context.get("bot_user_id")))

    @app.event("message")
    def on_message(event: dict[str, Any], context: Mapping[str, Any]) -> None:
        take(message_incoming(event, context.get("bot_user_id")))

    @app.event("reaction_added")
    def on_reaction(event: dict[str, Any], context: Mapping[str, Any]) -> None:
        item = event.get("item") or {}
        bot = context.get("bot_user_id")
        if (
            bot
            and event.get("item_user") == bot
            and item.get("type") == "message"
            and event.get("user")
        ):
            place = Place(item["channel"])
            delivery.reaction(event["user"], event.get("reaction", ""), place, item["ts"])

    @app.command("/ask")
    def on_ask(ack: Callable[..., None], command: dict[str, Any], respond: Any) -> None:
        text = _question_text(command.get("text") or "")
        if not text:
            ack(text=USAGE, response_type="ephemeral")
            return
        ack(text="Looking that up — the answer will appear here.", response_type="ephemeral")
        slash = (text, command["user_id"], command["channel_id"], respond)
        pool.submit(_answer_slash, delivery, surface, *slash)


def _on_feedback(app: App, delivery: Delivery, client: WebClient) -> None:
    """The buttons under an answer, the reason menu and the comment modal."""

    def on_click(handler: Callable[[Click], None]) -> Callable[..., None]:
        def listener(ack: Callable[..., None], body: dict[str, Any], respond: Any) -> None:
            ack()
            click = click_from(body, respond, client)
            if click is not None:
                handler(click)

        return listener

    app.action(UP)(on_click(delivery.up))
    app.action(DOWN)(on_click(delivery.down))
    app.action(HUMAN)(on_click(delivery.escalate))

    @app.action(COMMENT)
    def on_comment_button(ack: Callable[..., None], body: dict[str, Any], respond: Any) -> None:
        ack()
        click = click_from(body, respond, client)
        if click is not None:
            reason = body["actions"][0].get("value", "").partition(":")[2]
            delivery.comment(click, reason)

    @app.action(re.compile(f"^{REASON_PREFIX}"))
    def on_reason(ack: Callable[..., None], body: dict[str, Any], respond: Any) -> None:
        ack()
        click = click_from(body, respond, client)
        if click is not None:
            action_id = body["actions"][0]["action_id"]
            delivery.reason(click, action_id.removeprefix(REASON_PREFIX))

    @app.view(COMMENT_MODAL)
    def on_comment(ack: Callable[..., None], body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            interaction_id, reason, channel, thread, comment = parse_modal(view)
            delivery.save_comment(body["user"]["id"], interaction_id, reason, comment)
        except Exception:
            log.exception("could not store a comment")
            ack(response_action="errors", errors={COMMENT_BLOCK: SORRY})
            return
        ack()
        if channel:  # the modal closes; say where the answer is that it was saved
            responder = SlackResponder(
                client, channel=channel, user=body["user"]["id"], thread=thread
            )
            try:
                responder.notice(COMMENT_SAVED)
            except SurfaceError as exc:
                log.info("comment saved without a confirmation", extra={"error": str(exc)})


class _TokenFromEnvironment(logging.Filter):
    """Bolt also reads SLACK_BOT_TOKEN itself and warns that our client's token wins: noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


class _NoPayloads(logging.Filter):
    """Bolt puts request bodies into some of its lines ("Invalid request signature detected
    (… body: …)", "Unhandled request ({…})", "Skipped self event: {…}", "Responding with
    status: 200 body: …"): message text and raw user ids, whose size the sender chooses.
    Each Bolt line is cut to its fixed lead, before the first detail; tracebacks stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        short = re.split(r"[(:{\n]", message, maxsplit=1)[0].strip()[:_BOLT_LINE_MAX]
        if short != message:
            record.msg, record.args = short or "bolt", ()
        return True


_BOLT_LINE_MAX = 120


def _bolt_logger() -> logging.Logger:
    """The base logger Bolt copies (level, filters) into each of its own loggers."""
    logger = logging.getLogger("askdesk.bots.slack.bolt")
    for kind in (_TokenFromEnvironment, _NoPayloads):
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
    return logger


# -- translations ----------------------------------------------------------------------------
def first_delivery_only(seen: SeenKeys) -> Callable[..., BoltResponse | None]:
    """Global middleware: each `event_id` is handled once; redeliveries are acked and dropped.

    With claims local to this process, a retry after `http_timeout` is dropped even if this
    process never saw the first delivery: Slack only times out on a request it delivered,
    and with acks sent before any work that request is still being answered by whichever
    process took it. With fleet-wide claims (`SharedKeys`) the claim alone decides: a
    retry whose first delivery died with its process (killed before it claimed) is answered.

    A slash command has no `event_id`: the same signed `/ask` sent twice (a replay inside
    the 5-minute signature window) is caught on its `trigger_id`, or on a hash of the body.
    """

    def middleware(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        body = req.body if isinstance(req.body, dict) else {}
        if body.get("command"):
            raw = req.raw_body or json.dumps(body, sort_keys=True)  # Socket Mode has no raw body
            key = body.get("trigger_id") or hashlib.sha256(raw.encode()).hexdigest()
            if not seen.claim(f"command:{key}", wait=False):
                log.info("dropped a repeated command", extra={"command": body.get("command")})
                return BoltResponse(status=200, body="")
            return next()
        event_id = body.get("event_id")
        if event_id:
            reason = (req.headers.get("x-slack-retry-reason") or [""])[0]
            timed_out = reason == "http_timeout" and not seen.shared
            if timed_out or not seen.claim(f"event:{event_id}", wait=False):
                retry = (req.headers.get("x-slack-retry-num") or ["?"])[0]
                log.info(
                    "dropped a redelivered event", extra={"event_id": event_id, "retry": retry}
                )
                return BoltResponse(status=200, body="")
        return next()

    return middleware


def _question_text(raw: str) -> str:
    text = strip_mentions(raw, _MENTION)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _from_a_person(event: Mapping[str, Any]) -> bool:
    """Edits, joins and bots' messages (ours included) are not questions."""
    return (
        bool(event.get("user")) and not event.get("bot_id") and event.get("subtype") in _ANSWERABLE
    )


def _others(text: str, bot_user_id: str | None) -> bool:
    """Whether the message mentions someone besides the bot (then it is meant for them)."""
    return any(user != bot_user_id for user in _USER_MENTION.findall(text))


def _incoming(event: Mapping[str, Any], bot_user_id: str | None, *, mentioned: bool) -> Incoming:
    ts, channel = event["ts"], event["channel"]
    thread = event.get("thread_ts") or ts
    direct = event.get("channel_type") == "im"
    raw = event.get("text") or ""
    return Incoming(
        key=f"msg:{channel}:{ts}",
        text=_question_text(raw),
        user=event["user"],
        place=Place(channel, thread, direct=direct),
        channel=channel,
        conversation=thread,
        message=ts,
        settings=(channel,),
        mentioned=mentioned,
        direct=direct,
        in_thread=thread != ts,
        others_mentioned=_others(raw, bot_user_id),
    )


def mention_incoming(event: Mapping[str, Any], bot_user_id: str | None) -> Incoming | None:
    """`@bot question` anywhere; in a thread it continues the thread's conversation."""
    if not _from_a_person(event):
        return None
    return _incoming(event, bot_user_id, mentioned=True)


def message_incoming(event: Mapping[str, Any], bot_user_id: str | None) -> Incoming | None:
    """A DM, a reply in a thread (a follow-up, if askdesk answered there), or a top-level
    channel message (answered where `respond_to = "all"`). A message with the bot's
    mention is `app_mention`'s; the delivery core's rules decide the rest."""
    if not _from_a_person(event):
        return None
    kind = event.get("channel_type")
    if kind not in ("im", "channel", "group"):
        return None
    if kind != "im" and bot_user_id and f"<@{bot_user_id}" in (event.get("text") or ""):
        return None
    return _incoming(event, bot_user_id, mentioned=False)


def _answer_slash(
    delivery: Delivery,
    surface: SlackSurface,
    text: str,
    user: str,
    channel: str,
    respond: Callable[..., object] | None,
) -> None:
    """`/ask`: there is no message yet, so the question is posted first (cut when huge) and
    answered below it, the first reply also shown in the channel."""
    shown, _ = delivery.desk.engine.kept(Question(text))
    try:
        ts = surface.post_text(Place(channel), f"<@{user}> asked: {escape(shown.text)}")
    except SurfaceError as exc:
        log.warning("could not post /ask", extra={"error": str(exc)})
        if respond is not None:
            respond(
                text="I can't post in this channel. Invite me (`/invite @askdesk`) or "
                "send me a direct message.",
                response_type="ephemeral",
                replace_original=False,
            )
        return
    incoming = Incoming(
        key=f"msg:{channel}:{ts}",
        text=text,
        user=user,
        place=Place(channel, ts, direct=channel.startswith("D"), broadcast=True),
        channel=channel,
        conversation=ts,
        message=ts,
        settings=(channel,),
        mentioned=True,
    )
    ask = delivery.accept(incoming)
    if ask is not None:
        delivery.answer(ask)


def click_from(body: Mapping[str, Any], respond: Any, client: WebClient) -> Click | None:
    """A button press as the core's `Click`; None for a value that is not an answer id."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    thread = (
        message.get("thread_ts")
        or message.get("ts")
        or container.get("thread_ts")
        or (None if container.get("is_ephemeral") else container.get("message_ts"))
    )
    value = body["actions"][0].get("value", "").partition(":")[0]
    if not value.isdigit():
        log.warning("click without an answer id")
        return None
    user = body["user"]["id"]
    responder = SlackResponder(
        client,
        channel=channel,
        user=user,
        thread=thread,
        respond=respond if body.get("response_url") else None,
        trigger_id=body.get("trigger_id"),
    )
    place = Place(channel, thread, direct=str(channel).startswith("D"))
    return Click(user, int(value), place, responder, settings=(channel,))
