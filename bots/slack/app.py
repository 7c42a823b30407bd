"""The Bolt app: registers listeners, and each listener only translates a payload into a call.

Events are acked by Bolt before any listener runs (`process_before_response=False`); clicks,
the slash command and the modal ack first thing. Answering happens on `Answerer`'s own pool,
votes and escalations in `Feedback`; both go through `SupportDesk` only.
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

from bots.common import ChannelDirectory, strip_mentions
from bots.slack.answering import Answerer, Ask, Journal, SlashAsk
from bots.slack.blocks import (
    COMMENT,
    COMMENT_BLOCK,
    COMMENT_MODAL,
    DOWN,
    HUMAN,
    REASON_PREFIX,
    UP,
    parse_modal,
)
from bots.slack.dedupe import SeenKeys
from bots.slack.feedback import SORRY, Click, Feedback
from core.desk import SupportDesk

log = logging.getLogger(__name__)

_MENTION = r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>"
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
) -> App:
    """The askdesk Slack bot as a Bolt app, for Socket Mode or HTTP mode alike.

    `client` carries the bot token and the API base URL; Bolt calls `auth.test` with it
    once, here, to learn the bot's user id. Without a `signing_secret` HTTP requests are all
    rejected (a random secret nobody knows); Socket Mode does not sign requests.
    """
    seen = seen if seen is not None else SeenKeys()
    pool = executor or ThreadPoolExecutor(answer_workers, thread_name_prefix="askdesk-answer")
    answerer = Answerer(desk, channels, client, pool, seen, journal)
    feedback = Feedback(desk, channels, client, seen)
    app = App(
        client=client,
        signing_secret=signing_secret or secrets.token_hex(32),
        process_before_response=False,
        name="askdesk",
        logger=_bolt_logger(),
    )
    app.middleware(first_delivery_only(seen))

    @app.event("app_mention")
    def on_mention(event: dict[str, Any]) -> None:
        ask = mention_ask(event)
        if ask is not None:
            answerer.take(ask)

    @app.event("message")
    def on_message(event: dict[str, Any], context: Mapping[str, Any]) -> None:
        ask = message_ask(event, context.get("bot_user_id"), channels)
        if ask is not None:
            answerer.take(ask)

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
            feedback.reaction(event["user"], event.get("reaction", ""), item["channel"], item["ts"])

    @app.command("/ask")
    def on_ask(ack: Callable[..., None], command: dict[str, Any], respond: Any) -> None:
        text = _question_text(command.get("text") or "")
        if not text:
            ack(text=USAGE, response_type="ephemeral")
            return
        ack(text="Looking that up — the answer will appear here.", response_type="ephemeral")
        answerer.take_slash(SlashAsk(text, command["user_id"], command["channel_id"], respond))

    def on_click(handler: Callable[[Click], None]) -> Callable[..., None]:
        def listener(ack: Callable[..., None], body: dict[str, Any], respond: Any) -> None:
            ack()
            handler(click_from(body, respond))

        return listener

    app.action(UP)(on_click(feedback.up))
    app.action(DOWN)(on_click(feedback.down))
    app.action(HUMAN)(on_click(feedback.human))
    app.action(COMMENT)(on_click(feedback.comment))

    @app.action(re.compile(f"^{REASON_PREFIX}"))
    def on_reason(ack: Callable[..., None], body: dict[str, Any], respond: Any) -> None:
        ack()
        action_id = body["actions"][0]["action_id"]
        feedback.reason(click_from(body, respond), action_id.removeprefix(REASON_PREFIX))

    @app.view(COMMENT_MODAL)
    def on_comment(ack: Callable[..., None], body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            interaction_id, reason, _, _, comment = parse_modal(view)
            feedback.save_comment(body["user"]["id"], interaction_id, reason, comment)
        except Exception:
            log.exception("could not store a comment")
            ack(response_action="errors", errors={COMMENT_BLOCK: SORRY})
            return
        ack()

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
    logger = logging.getLogger("bots.slack.bolt")
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
            if not seen.claim(f"command:{key}"):
                log.info("dropped a repeated command", extra={"command": body.get("command")})
                return BoltResponse(status=200, body="")
            return next()
        event_id = body.get("event_id")
        if event_id:
            reason = (req.headers.get("x-slack-retry-reason") or [""])[0]
            timed_out = reason == "http_timeout" and not seen.shared
            if timed_out or not seen.claim(f"event:{event_id}"):
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
    return (
        bool(event.get("user")) and not event.get("bot_id") and event.get("subtype") in _ANSWERABLE
    )


def mention_ask(event: Mapping[str, Any]) -> Ask | None:
    """`@bot question` anywhere; in a thread it is a follow-up (thread = the root's ts)."""
    if not _from_a_person(event):
        return None
    ts = event["ts"]
    return Ask(
        _question_text(event.get("text") or ""),
        event["user"],
        event["channel"],
        ts,
        event.get("thread_ts") or ts,
    )


def message_ask(
    event: Mapping[str, Any], bot_user_id: str | None, channels: ChannelDirectory
) -> Ask | None:
    """A DM is always a question; a channel message only where `respond_to = "all"`, only at
    top level, and only without the bot's mention (`app_mention` answers that one)."""
    if not _from_a_person(event):
        return None
    kind = event.get("channel_type")
    ts = event["ts"]
    thread = event.get("thread_ts") or ts
    if kind != "im":
        if kind not in ("channel", "group") or thread != ts:
            return None
        if bot_user_id and f"<@{bot_user_id}" in (event.get("text") or ""):
            return None
        if channels.get(event["channel"]).respond_to != "all":
            return None
    return Ask(_question_text(event.get("text") or ""), event["user"], event["channel"], ts, thread)


def click_from(body: Mapping[str, Any], respond: Any) -> Click:
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    thread = (
        message.get("thread_ts")
        or message.get("ts")
        or container.get("thread_ts")
        or (None if container.get("is_ephemeral") else container.get("message_ts"))
    )
    return Click(
        user=body["user"]["id"],
        channel=channel,
        thread=thread,
        value=body["actions"][0].get("value", ""),
        trigger_id=body.get("trigger_id"),
        respond=respond if body.get("response_url") else None,
    )
