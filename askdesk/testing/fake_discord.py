"""A local stand-in for Discord: the REST API and the gateway WebSocket in one aiohttp app.

discord.py runs unmodified against it; tests only point `discord.http.Route.BASE` and
`discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY` here. It checks the bot token, can refuse
the Message Content intent (close code 4014, as Discord does), answers IDENTIFY with READY
and one guild (two text channels, a thread, a support role), records every message, typing
call, interaction callback, followup and command upload, echoes the bot's own messages back
as MESSAGE_CREATE (as Discord does), and builds the payloads tests dispatch: messages, DMs,
replies, button clicks, select choices, modal submissions, /ask and reactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

_ids = itertools.count(1_200_000_000_000_000_000)


def snowflake() -> str:
    return str(next(_ids))


NOW = "2024-01-01T00:00:00+00:00"
PERMISSIONS = "1071698660929"
MESSAGE_CONTENT_INTENT = 1 << 15

APP_ID = snowflake()
BOT = {
    "id": APP_ID,
    "username": "askdesk",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
}
OTHER_BOT = {**BOT, "id": snowflake(), "username": "otherbot"}
ALICE = {
    "id": snowflake(),
    "username": "alice",
    "discriminator": "0",
    "global_name": "Alice",
    "avatar": None,
}
BOB = {**ALICE, "id": snowflake(), "username": "bob", "global_name": "Bob"}
GUILD_ID = snowflake()
SUPPORT_ID = snowflake()  # text channel #support
GENERAL_ID = snowflake()  # text channel #general
THREAD_ID = snowflake()  # a public thread in #support
DM_ID = snowflake()  # Alice's DM channel with the bot
ROLE_ID = snowflake()  # @support-team


def member(user: dict[str, Any]) -> dict[str, Any]:
    return {"user": user, "roles": [], "joined_at": NOW, "deaf": False, "mute": False, "flags": 0}


def _text_channel(cid: str, name: str, position: int) -> dict[str, Any]:
    return {
        "id": cid,
        "type": 0,
        "name": name,
        "position": position,
        "guild_id": GUILD_ID,
        "permission_overwrites": [],
        "parent_id": None,
        "nsfw": False,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
    }


SUPPORT = _text_channel(SUPPORT_ID, "support", 0)
GENERAL = _text_channel(GENERAL_ID, "general", 1)
THREAD = {
    "id": THREAD_ID,
    "type": 11,
    "guild_id": GUILD_ID,
    "parent_id": SUPPORT_ID,
    "owner_id": ALICE["id"],
    "name": "help with keys",
    "last_message_id": None,
    "rate_limit_per_user": 0,
    "message_count": 0,
    "member_count": 1,
    "flags": 0,
    "thread_metadata": {
        "archived": False,
        "auto_archive_duration": 1440,
        "archive_timestamp": NOW,
        "locked": False,
    },
}
DM_CHANNEL = {"id": DM_ID, "type": 1, "last_message_id": None, "recipients": [ALICE]}


def _role(rid: str, name: str, position: int) -> dict[str, Any]:
    return {
        "id": rid,
        "name": name,
        "permissions": PERMISSIONS,
        "position": position,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": True,
        "flags": 0,
    }


GUILD = {
    "id": GUILD_ID,
    "name": "Tidewire",
    "icon": None,
    "owner_id": ALICE["id"],
    "unavailable": False,
    "roles": [_role(GUILD_ID, "@everyone", 0), _role(ROLE_ID, "support-team", 1)],
    "emojis": [],
    "stickers": [],
    "features": [],
    "member_count": 4,
    "large": False,
    "joined_at": NOW,
    "members": [member(BOT), member(ALICE), member(BOB), member(OTHER_BOT)],
    "channels": [SUPPORT, GENERAL],
    "threads": [THREAD],
    "voice_states": [],
    "presences": [],
    "stage_instances": [],
    "guild_scheduled_events": [],
    "soundboard_sounds": [],
    "premium_tier": 0,
    "verification_level": 0,
    "default_message_notifications": 0,
    "explicit_content_filter": 0,
    "mfa_level": 0,
    "system_channel_flags": 0,
    "nsfw_level": 0,
    "preferred_locale": "en-US",
    "afk_timeout": 300,
}
_CHANNELS = {SUPPORT_ID: SUPPORT, GENERAL_ID: GENERAL, THREAD_ID: THREAD, DM_ID: DM_CHANNEL}


def jresp(data: Any, status: int = 200) -> web.Response:
    # discord.py parses JSON only when the content-type is exactly "application/json"
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


class FakeDiscord:
    def __init__(self, token: str = "fake-token", *, message_content_allowed: bool = True) -> None:
        self.token = token
        self.message_content_allowed = message_content_allowed
        self.requests: list[tuple[str, str, Any]] = []  # (method, path, json body)
        self.messages: dict[str, dict[str, Any]] = {}  # every message, by id
        self.sent: list[dict[str, Any]] = []  # what the bot posted to channels, in order
        self.typing: list[str] = []  # channel ids the bot showed typing in
        self.callbacks: list[dict[str, Any]] = []  # interaction responses: {"id", "type", "data"}
        self.followups: list[dict[str, Any]] = []  # messages posted through interaction webhooks
        self.commands: list[dict[str, Any]] = []  # the application's global commands
        self.interactions: dict[str, dict[str, Any]] = {}  # payloads dispatched, by token
        self.edits: list[dict[str, Any]] = []  # PATCHes of messages: {"id", "body"}
        self.refuse_edits = 0  # answer the next n message edits with 403 Missing Permissions
        self.refuse_posts = 0  # answer the next n channel messages with 403 Missing Permissions
        self.identify: dict[str, Any] | None = None
        self._ws: web.WebSocketResponse | None = None
        self._seq = 0
        self._send_lock = asyncio.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None

    # ---- REST -----------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body = None
        if request.can_read_body and request.content_type == "application/json":
            body = await request.json()
        self.requests.append((request.method, path, body))
        parts = path.strip("/").split("/")
        if path.startswith("/webhooks/") or path.startswith("/interactions/"):
            pass  # interaction tokens authenticate these, not the bot token
        elif request.headers.get("Authorization") != f"Bot {self.token}":
            return jresp({"message": "401: Unauthorized", "code": 0}, 401)
        if path == "/users/@me":
            return jresp(BOT)
        if path == "/oauth2/applications/@me":  # Client.login() fetches the application
            return jresp(
                {
                    "id": APP_ID,
                    "name": "askdesk",
                    "description": "",
                    "icon": None,
                    "rpc_origins": [],
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": ALICE,
                    "summary": "",
                    "verify_key": "0" * 64,
                    "team": None,
                    "flags": 0,
                }
            )
        if path in ("/gateway", "/gateway/bot"):
            return jresp(
                {
                    "url": self.ws_url,
                    "shards": 1,
                    "session_start_limit": {
                        "total": 1000,
                        "remaining": 1000,
                        "reset_after": 0,
                        "max_concurrency": 1,
                    },
                }
            )
        if parts[0] == "applications" and parts[2:] == ["commands"]:
            if request.method == "PUT":
                self.commands = [
                    {"id": snowflake(), "application_id": APP_ID, "version": "1", "type": 1, **c}
                    for c in body or []
                ]
            return jresp(self.commands)
        if parts[0] == "channels" and parts[2:] == ["typing"]:
            self.typing.append(parts[1])
            return web.Response(status=204)
        if parts[0] == "channels" and parts[2:] == ["messages"] and request.method == "POST":
            if self.refuse_posts > 0:
                self.refuse_posts -= 1
                return jresp({"message": "Missing Permissions", "code": 50013}, 403)
            msg = self.message(
                body.get("content", ""),
                author=BOT,
                channel_id=parts[1],
                embeds=body.get("embeds") or [],
                components=body.get("components") or [],
                reply_to=self._referenced(body.get("message_reference")),
            )
            msg["allowed_mentions"] = body.get("allowed_mentions")
            self.sent.append(msg)
            asyncio.get_running_loop().create_task(self.dispatch("MESSAGE_CREATE", msg))
            return jresp(msg)
        if parts[0] == "channels" and len(parts) == 4 and parts[2] == "messages":
            if request.method == "PATCH":
                return self._edit(parts[3], body or {})
            found = self.messages.get(parts[3])
            if request.method == "GET" and found is not None:
                return jresp(found)
            return jresp({"message": "Unknown Message", "code": 10008}, 404)
        if parts[0] == "interactions" and parts[-1] == "callback":
            return self._callback(parts[1], body or {})
        if parts[0] == "webhooks" and len(parts) == 3 and request.method == "POST":
            return jresp(self._followup(parts[2], body or {}))
        if parts[0] == "webhooks" and parts[3:4] == ["messages"] and request.method == "PATCH":
            return self._edit(parts[4], body or {})  # a followup edited through its token
        if "/reactions/" in path:
            return web.Response(status=204)
        return jresp({"message": f"fake: unhandled {request.method} {path}", "code": 0}, 404)

    def _edit(self, message_id: str, body: dict[str, Any]) -> web.Response:
        """PATCH a message: only the fields sent change (as Discord does); recorded in order."""
        if self.refuse_edits > 0:
            self.refuse_edits -= 1
            return jresp({"message": "Missing Permissions", "code": 50013}, 403)
        found = self.messages.get(message_id)
        if found is None:
            return jresp({"message": "Unknown Message", "code": 10008}, 404)
        self.edits.append({"id": message_id, "body": body})
        found.setdefault("posted_content", found.get("content"))  # what readers first saw
        found.update({k: body[k] for k in ("content", "embeds", "components") if k in body})
        found["edited_timestamp"] = datetime.now(UTC).isoformat()
        return jresp(found)

    def _referenced(self, reference: dict[str, Any] | None) -> dict[str, Any] | None:
        if not reference:
            return None
        return self.messages.get(str(reference.get("message_id")))

    def _callback(self, interaction_id: str, body: dict[str, Any]) -> web.Response:
        data = body.get("data") or {}
        record = {"id": interaction_id, "type": body["type"], "data": data}
        self.callbacks.append(record)
        source = next((p for p in self.interactions.values() if p["id"] == interaction_id), {})
        response_id = snowflake()
        if body["type"] == 4:  # a new message: kept so a test can click its components next
            msg = self.message(
                data.get("content", ""),
                author=BOT,
                channel_id=source.get("channel_id", SUPPORT_ID),
                components=data.get("components") or [],
                flags=data.get("flags", 0),
            )
            response_id = record["message_id"] = msg["id"]
        elif body["type"] == 7 and source.get("message"):  # the clicked message, updated
            msg = self.messages.setdefault(source["message"]["id"], source["message"])
            msg.update({k: data[k] for k in ("content", "components", "embeds") if k in data})
            response_id = record["message_id"] = msg["id"]
        return jresp(
            {
                "interaction": {
                    "id": interaction_id,
                    "type": 3,
                    "response_message_id": response_id,
                    "response_message_loading": body["type"] == 5,
                    "response_message_ephemeral": bool(data.get("flags", 0) & 64),
                },
                "resource": {"type": body["type"]},
            }
        )

    def _followup(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        source = self.interactions.get(token, {})
        user = (source.get("member") or {}).get("user") or source.get("user") or ALICE
        msg = self.message(
            body.get("content", ""),
            author=BOT,
            channel_id=source.get("channel_id", SUPPORT_ID),
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            flags=body.get("flags", 0),
            webhook_id=APP_ID,
            application_id=APP_ID,
            interaction_metadata={
                "id": source.get("id", snowflake()),
                "type": source.get("type", 2),
                "user": user,
                "authorizing_integration_owners": {"0": GUILD_ID},
            },
        )
        self.followups.append(msg)
        return msg

    # ---- gateway --------------------------------------------------------------------------
    async def _send(self, payload: dict[str, Any]) -> None:
        async with self._send_lock:
            if self._ws is not None and not self._ws.closed:
                await self._ws.send_str(json.dumps(payload))

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self._seq += 1
        await self._send({"op": 0, "t": event, "s": self._seq, "d": data})

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await self._send({"op": 10, "d": {"heartbeat_interval": 41250}})  # HELLO
        async for msg in ws:
            p = json.loads(msg.data)
            if p["op"] == 1:  # HEARTBEAT
                await self._send({"op": 11})
            elif p["op"] == 2:  # IDENTIFY
                self.identify = p["d"]
                wants_content = p["d"].get("intents", 0) & MESSAGE_CONTENT_INTENT
                if wants_content and not self.message_content_allowed:
                    await ws.close(code=4014, message=b"Disallowed intent(s).")
                    break
                await self.dispatch(
                    "READY",
                    {
                        "v": 10,
                        "user": BOT,
                        "guilds": [{"id": GUILD_ID, "unavailable": True}],
                        "session_id": "fake-session",
                        "resume_gateway_url": self.ws_url,
                        "application": {"id": APP_ID, "flags": 0},
                        "private_channels": [],
                        "relationships": [],
                        "presences": [],
                    },
                )
                await self.dispatch("GUILD_CREATE", GUILD)
        return ws

    # ---- payload builders -----------------------------------------------------------------
    def message(
        self,
        content: str,
        author: dict[str, Any] = ALICE,
        channel_id: str = SUPPORT_ID,
        *,
        mentions: tuple[dict[str, Any], ...] = (),
        mention_roles: tuple[str, ...] = (),
        reply_to: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A message payload (stored, so the bot can fetch it later)."""
        m: dict[str, Any] = {
            "id": snowflake(),
            "channel_id": channel_id,
            "author": author,
            "content": content,
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": list(mentions),
            "mention_roles": list(mention_roles),
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
        }
        if channel_id != DM_ID:
            m["guild_id"] = GUILD_ID
            m["member"] = {k: v for k, v in member(author).items() if k != "user"}
        if reply_to is not None:
            m["type"] = 19
            m["message_reference"] = {
                "type": 0,
                "message_id": reply_to["id"],
                "channel_id": reply_to["channel_id"],
                **({"guild_id": GUILD_ID} if "guild_id" in reply_to else {}),
            }
            m["referenced_message"] = {  # one level deep, as Discord sends it
                k: v
                for k, v in reply_to.items()
                if k not in ("allowed_mentions", "referenced_message")
            }
        m.update({k: v for k, v in extra.items() if v is not None})
        self.messages[m["id"]] = m
        return m

    def mention(self, text: str, channel_id: str = SUPPORT_ID, **kw: Any) -> dict[str, Any]:
        """Alice asks the bot by @mention."""
        return self.message(f"<@{APP_ID}> {text}", channel_id=channel_id, mentions=(BOT,), **kw)

    def _interaction(
        self, itype: int, channel_id: str, user: dict[str, Any], data: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        iid = snowflake()
        token = f"itoken-{iid}"
        p: dict[str, Any] = {
            "id": iid,
            "application_id": APP_ID,
            "type": itype,
            "token": token,
            "version": 1,
            "channel_id": channel_id,
            "channel": _CHANNELS.get(channel_id, SUPPORT),
            "data": data,
            "locale": "en-US",
            "app_permissions": PERMISSIONS,
            "entitlements": [],
            "attachment_size_limit": 8388608,
            **extra,
        }
        if channel_id == DM_ID:
            p.update(user=user, context=1, authorizing_integration_owners={"1": user["id"]})
        else:
            p.update(
                guild_id=GUILD_ID,
                guild_locale="en-US",
                member={**member(user), "permissions": PERMISSIONS},
                context=0,
                authorizing_integration_owners={"0": GUILD_ID},
            )
        self.interactions[token] = p
        return p

    def click(self, message: dict[str, Any], custom_id: str, user: dict[str, Any] = ALICE):
        data = {"custom_id": custom_id, "component_type": 2}
        return self._interaction(3, message["channel_id"], user, data, message=message)

    def choose(
        self, message: dict[str, Any], custom_id: str, value: str, user: dict[str, Any] = ALICE
    ) -> dict[str, Any]:
        data = {"custom_id": custom_id, "component_type": 3, "values": [value]}
        return self._interaction(3, message["channel_id"], user, data, message=message)

    def submit(
        self,
        message: dict[str, Any] | None,
        custom_id: str,
        fields: dict[str, str],
        user: dict[str, Any] = ALICE,
    ) -> dict[str, Any]:
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
            for k, v in fields.items()
        ]
        data = {"custom_id": custom_id, "components": rows}
        channel = message["channel_id"] if message else SUPPORT_ID
        extra = {"message": message} if message else {}
        return self._interaction(5, channel, user, data, **extra)

    def slash_ask(
        self, question: str, channel_id: str = SUPPORT_ID, user: dict[str, Any] = ALICE
    ) -> dict[str, Any]:
        cmd = next((c for c in self.commands if c["name"] == "ask"), {"id": snowflake()})
        data = {
            "id": cmd["id"],
            "name": "ask",
            "type": 1,
            "options": [{"name": "question", "type": 3, "value": question}],
        }
        return self._interaction(2, channel_id, user, data)

    def reaction(
        self, message: dict[str, Any], emoji: str, user: dict[str, Any] = ALICE
    ) -> dict[str, Any]:
        return {
            "user_id": user["id"],
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "guild_id": GUILD_ID,
            "emoji": {"id": None, "name": emoji},
            "member": member(user),
            "burst": False,
            "type": 0,
            "message_author_id": message["author"]["id"],
        }

    # ---- lifecycle ------------------------------------------------------------------------
    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway-ws", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)  # its lines hold interaction tokens
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.api_base = f"http://127.0.0.1:{port}/api/v10"
        self.ws_url = f"ws://127.0.0.1:{port}/gateway-ws"
        return self

    async def stop(self) -> None:
        await self._runner.cleanup()


@contextlib.contextmanager
def fake_in_thread(**kwargs: Any) -> Iterator[FakeDiscord]:
    """The fake on its own event loop, for code that runs its own (the CLI, `run()`)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = asyncio.run_coroutine_threadsafe(_started(FakeDiscord, kwargs), loop).result(10)
    fake.loop = loop  # so a test can `asyncio.run_coroutine_threadsafe(fake.dispatch(...))`
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def _started(cls: type[FakeDiscord], kwargs: dict[str, Any]) -> FakeDiscord:
    return await cls(**kwargs).start()  # the lock binds to this loop
