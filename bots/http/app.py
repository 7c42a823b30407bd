"""The HTTP API's routes (aiohttp): ask, vote, read an answer back, health, schema, chat page.

    POST /v1/ask                    question (+ conversation_id) → answer, sources, decision,
                                    answer_id, conversation_id
    GET  /v1/answers/{id}           the answer as it stands (styled once the rewrite is in)
    POST /v1/answers/{id}/vote      up, or down with a reason code and a comment
    GET  /v1/health                 200 once the index and models are loaded, else 503
    GET  /v1/openapi.json           the OpenAPI 3.1 schema (bots/http/openapi.py)
    GET  /v1/chat.js                the embeddable chat widget

The handlers translate; the delivery core (`askdesk.bots.delivery.Delivery`) does the answering and
the voting, exactly as for Slack and Discord (the HTTP surface is `askdesk.bots.http.surface`).
Every failure is one JSON line `{"error": "..."}` with its status; nothing here raises into
aiohttp. Conversations and answers belong to the API key that made them: another key gets
404 for them, as for an id that never existed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from askdesk.bots.conversations import asks_nothing
from askdesk.bots.delivery import COMMENT_SAVED, Delivery, run_guarded
from askdesk.bots.http.keys import ApiKey, KeyRing, bearer
from askdesk.bots.http.limits import RateLimit
from askdesk.bots.http.openapi import schema
from askdesk.bots.http.surface import PLATFORM, HttpSurface, Outbox, render_answer
from askdesk.bots.surface import Click, CommentDialogue, Incoming, Place, Prompt
from askdesk.feedback.reasons import Reason, parse_reason

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_USER_CHARS = 200
MAX_COMMENT_CHARS = 2000
MAX_IDEMPOTENCY_KEY = 200
KEEP_REPLIES = 5000  # idempotent replies remembered (per process)
PUBLIC = ("/v1/health", "/v1/openapi.json", "/v1/chat.js")
KEY = web.RequestKey("askdesk_http_key", ApiKey)
API = web.AppKey("askdesk_http_api", object)
FLOODED = "Too many questions in this conversation just now; wait a few minutes."
NOT_ANSWERED = "Something went wrong while answering; please try again."


class Ready(Protocol):
    def check(self) -> tuple[bool, str]: ...


@dataclass
class HttpConfig:
    """The API's settings (`askdesk.settings`: http_*)."""

    cors_origins: Sequence[str] = ()
    max_body_bytes: int = 16 * 1024
    asks_per_minute: float = 30.0
    workers: int = 4
    extra_script_headers: dict[str, str] = field(default_factory=dict)


class _Collector:
    """A click's `Responder`: what the core says to the voter becomes the response."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.prompt: Prompt | None = None

    def notice(self, text: str, prompt: Prompt | None = None) -> None:
        self.texts.append(text)
        self.prompt = prompt

    def replace(self, text: str, prompt: Prompt | None = None) -> None:
        self.notice(text, prompt)

    def open_dialogue(self, dialogue: CommentDialogue) -> None:
        return None  # the comment arrives in the same request


class HttpApi:
    """The API's state: the delivery core on the HTTP surface, keys, limits, replies."""

    def __init__(
        self,
        delivery: Delivery,
        surface: HttpSurface,
        keys: KeyRing,
        config: HttpConfig | None = None,
        *,
        ready: Ready | None = None,
    ) -> None:
        self.delivery = delivery
        self.surface = surface
        self.keys = keys
        self.config = config or HttpConfig()
        self.ready = ready
        self.rate = RateLimit(self.config.asks_per_minute)
        self.pool = ThreadPoolExecutor(self.config.workers, thread_name_prefix="askdesk-http")
        self._replies: OrderedDict[tuple[str, str], asyncio.Future[web.Response]] = OrderedDict()
        self._schema = json.dumps(schema(), indent=1)
        self._script = (STATIC / "chat.js").read_text(encoding="utf-8")

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=self.config.max_body_bytes,
            middlewares=[self._errors, self._cors, self._auth],
        )
        app[API] = self
        app.router.add_post("/v1/ask", self.ask)
        app.router.add_get("/v1/answers/{id}", self.answer)
        app.router.add_post("/v1/answers/{id}/vote", self.vote)
        app.router.add_get("/v1/health", self.health)
        app.router.add_get("/v1/openapi.json", self.openapi)
        app.router.add_get("/v1/chat.js", self.script)
        return app

    # -- middlewares ---------------------------------------------------------------------------
    @web.middleware
    async def _errors(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return error(413, f"the request body is over {self.config.max_body_bytes} bytes")
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return error(exc.status, exc.reason or "error", headers=exc.headers)
        except Exception:
            log.exception("HTTP API request failed", extra={"path": request.path})
            return error(500, "internal error; the team can find it in the logs")

    @web.middleware
    async def _cors(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Browsers on the named origins may call the API; others get no CORS headers (the
        browser then refuses to read the reply) and a refused preflight."""
        origin = request.headers.get("Origin")
        allowed = origin is not None and origin in self.config.cors_origins
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not allowed:
                return error(403, "this origin is not allowed to call the API")
            response: web.StreamResponse = web.Response(status=204)
        else:
            response = await handler(request)
        if allowed and origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
                response.headers["Access-Control-Allow-Headers"] = (
                    "Authorization, Content-Type, Idempotency-Key"
                )
                response.headers["Access-Control-Max-Age"] = "600"
        return response

    @web.middleware
    async def _auth(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path in PUBLIC:
            return await handler(request)
        key = self.keys.find(bearer(request.headers.get("Authorization")))
        if key is None:
            return error(
                401,
                "a valid API key is required: Authorization: Bearer <key>",
                headers={"WWW-Authenticate": 'Bearer realm="askdesk"'},
            )
        request[KEY] = key
        return await handler(request)

    # -- public routes -------------------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        ok, why = self.ready.check() if self.ready is not None else (True, "ready")
        return web.json_response(
            {"status": "ok" if ok else "starting", "detail": why}, status=200 if ok else 503
        )

    async def openapi(self, request: web.Request) -> web.Response:
        return web.Response(text=self._schema, content_type="application/json")

    async def script(self, request: web.Request) -> web.Response:
        return web.Response(
            text=self._script,
            content_type="application/javascript",
            headers={"Cache-Control": "public, max-age=300"},
        )

    # -- ask -----------------------------------------------------------------------------------
    async def ask(self, request: web.Request) -> web.Response:
        key: ApiKey = request[KEY]
        wait = self.rate.take(key.name)
        if wait > 0:
            return error(
                429,
                f"this key asks more than {self.config.asks_per_minute:g} questions a minute",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        body = await json_body(request)
        question = body.get("question")
        if not isinstance(question, str) or not question.strip():
            return error(400, '"question" must be a non-empty string')
        conversation = body.get("conversation_id")
        if conversation is not None and not isinstance(conversation, str):
            return error(400, '"conversation_id" must be a string')
        user = _user(body, key)
        if isinstance(user, web.Response):
            return user
        idem = request.headers.get("Idempotency-Key", "").strip()[:MAX_IDEMPOTENCY_KEY] or None
        if idem is None:
            return await self._run(self._ask, key, question, conversation, user, None)
        slot = (key.name, idem)
        earlier = self._replies.get(slot)
        if earlier is not None:  # a retried submission: the first one's reply, not a new answer
            replied = await asyncio.shield(earlier)
            return web.Response(
                body=replied.body,
                status=replied.status,
                content_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        future: asyncio.Future[web.Response] = asyncio.get_running_loop().create_future()
        self._replies[slot] = future
        while len(self._replies) > KEEP_REPLIES:
            self._replies.popitem(last=False)
        try:
            response = await self._run(self._ask, key, question, conversation, user, idem)
        except BaseException as exc:
            self._replies.pop(slot, None)
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning
            raise
        future.set_result(response)
        if response.status >= 500 or response.status == 429:
            self._replies.pop(slot, None)  # a retry may succeed
        return response

    def _ask(
        self, key: ApiKey, question: str, conversation: str | None, user: str, idem: str | None
    ) -> web.Response:
        """Runs on a worker: the core's accept and answer, the reply built from the outbox."""
        if conversation is not None and not (
            CONVERSATION_ID.match(conversation)
            and self.delivery.conversations.answered_in(PLATFORM, key.channel, conversation)
        ):
            return error(404, "conversation not found")
        started = conversation or uuid.uuid4().hex
        outbox = Outbox()
        incoming = Incoming(
            key=f"http:{key.name}:{idem or uuid.uuid4().hex}",
            text=question,
            user=user,
            place=Place(key.channel, started, handle=outbox),
            channel=key.channel,
            conversation=started,
            settings=(key.channel, PLATFORM),
            mentioned=True,
            in_thread=conversation is not None,
        )
        ask = self.delivery.accept(incoming)
        if ask is None:
            if asks_nothing(question):
                return web.json_response(_reply(None, conversation, outbox, answered=False))
            body = {"error": FLOODED, **_reply(None, conversation, outbox, answered=False)}
            return web.json_response(body, status=429, headers={"Retry-After": "60"})
        posted = self.delivery.answer_draft(ask)
        if posted is None:
            return error(500, NOT_ANSWERED)
        body = _reply(posted.answer.interaction_id, started, outbox, answered=True)
        response = web.json_response(body)  # serialised now: the styled edit comes later
        if posted.answer.style_pending:
            self.pool.submit(run_guarded, lambda: self.delivery.finish_style(posted))
        return response

    # -- answers and votes ---------------------------------------------------------------------
    async def answer(self, request: web.Request) -> web.Response:
        key: ApiKey = request[KEY]
        answer_id = _answer_id(request)
        return await self._run(self._shown, key, answer_id)

    def _shown(self, key: ApiKey, answer_id: int | None) -> web.Response:
        row = self._owned(key, answer_id)
        if row is None or answer_id is None:
            return error(404, "answer not found")
        shown = self.surface.shown(answer_id)
        if shown is None:  # not kept in this process: what the store recorded
            shown = {
                "kind": "answer",
                "answer_id": answer_id,
                "text": row.get("styled") or row["answer"],
                "answered": not row["unanswered"],
                "hedged": bool(row.get("hedged")),
                "sources": [
                    {k: s.get(k) for k in ("n", "title", "path", "heading", "url", "score")}
                    for s in row.get("sources") or []
                ],
                "style_pending": False,
            }
        shown.pop("message_id", None)
        return web.json_response({**shown, "conversation_id": row.get("thread")})

    async def vote(self, request: web.Request) -> web.Response:
        key: ApiKey = request[KEY]
        answer_id = _answer_id(request)
        body = await json_body(request)
        value = body.get("vote")
        if value not in ("up", "down"):
            return error(400, '"vote" must be "up" or "down"')
        code, comment = body.get("reason"), body.get("comment")
        reason = parse_reason(code) if isinstance(code, str) else None
        if code is not None and reason is None:
            return error(400, f'"reason" must be one of: {", ".join(r.value for r in Reason)}')
        if comment is not None and (not isinstance(comment, str) or len(comment) > 2000):
            return error(400, f'"comment" must be a string of at most {MAX_COMMENT_CHARS} chars')
        if value == "up" and (reason is not None or comment):
            return error(400, "a reason or a comment goes with a down vote")
        user = _user(body, key)
        if isinstance(user, web.Response):
            return user
        return await self._run(self._vote, key, answer_id, value, reason, comment, user)

    def _vote(
        self,
        key: ApiKey,
        answer_id: int | None,
        value: str,
        reason: Reason | None,
        comment: str | None,
        user: str,
    ) -> web.Response:
        if answer_id is None or self._owned(key, answer_id) is None:
            return error(404, "answer not found")
        said = _Collector()
        click = Click(user, answer_id, Place(key.channel), said, settings=(key.channel,))
        if value == "up":
            self.delivery.up(click)
        elif reason is None and not comment:
            self.delivery.down(click)
        else:
            if reason is not None:
                self.delivery.reason(click, reason.value)
            if comment and comment.strip():
                try:
                    self.delivery.save_comment(user, answer_id, (reason or Reason.OTHER), comment)
                except Exception:
                    log.exception("could not store a comment")
                    return error(503, "the comment could not be saved; please try again")
                said.notice(COMMENT_SAVED)
        body: dict[str, Any] = {
            "answer_id": answer_id,
            "vote": value,
            "reason": reason.value if reason is not None else None,
            "comment": comment.strip() if comment and comment.strip() else None,
            "message": said.texts[-1] if said.texts else None,
        }
        if value == "down" and reason is None:
            body["reasons"] = [{"code": r.value, "label": r.label} for r in Reason]
        return web.json_response(body)

    def _owned(self, key: ApiKey, answer_id: int | None) -> dict[str, Any] | None:
        """The interaction if this key made it; None for another key's or a missing one."""
        if answer_id is None:
            return None
        row = self.delivery.desk.store.interactions.get(answer_id)
        if row is None or row.get("platform") != PLATFORM or row.get("channel") != key.channel:
            return None
        return row

    async def _run(self, work: Callable[..., web.Response], *args: Any) -> web.Response:
        return await asyncio.get_running_loop().run_in_executor(self.pool, work, *args)


def error(status: int, message: str, *, headers: Any = None) -> web.Response:
    """One JSON line saying what is wrong."""
    response = web.json_response({"error": message}, status=status)
    for name, value in (dict(headers) if headers else {}).items():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; a 400 (or 413 for a body over the limit) otherwise."""
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        raise web.HTTPBadRequest(reason="the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason="the body must be a JSON object")
    return body


def _user(body: dict[str, Any], key: ApiKey) -> str | web.Response:
    """Who asks or votes: the caller's own id for its user (hashed before storage), else
    the key itself (then one vote per answer per key)."""
    user = body.get("user")
    if user is None:
        return f"key:{key.name}"
    if not isinstance(user, str) or not user.strip() or len(user) > MAX_USER_CHARS:
        return error(400, f'"user" must be a non-empty string of at most {MAX_USER_CHARS} chars')
    return f"{key.name}:{user.strip()}"


def _answer_id(request: web.Request) -> int | None:
    raw = request.match_info.get("id", "")
    return int(raw) if raw.isdigit() and len(raw) < 18 else None


def _reply(
    answer_id: int | None, conversation: str | None, outbox: Outbox, *, answered: bool
) -> dict[str, Any]:
    """The response body: the answer's fields at the top, every posted message in order."""
    main = next((m for m in outbox.messages if m.get("kind") == "answer"), None)
    text = main["text"] if main else " ".join(m["text"] for m in outbox.messages) or None
    return {
        "answer_id": answer_id,
        "conversation_id": conversation,
        "answer": text,
        "answered": bool(main and main["answered"]) if answered else False,
        "hedged": bool(main and main.get("hedged")) if answered else False,
        "sources": main["sources"] if main else [],
        "decision": main["decision"] if main else None,
        "notice": main.get("notice") if main else None,
        "style_pending": bool(main and main.get("style_pending")),
        "messages": outbox.messages,
    }


__all__ = ["HttpApi", "HttpConfig", "render_answer"]
