"""The HTTP API as a chat surface (`askdesk.bots.surface.ChatSurface`): a "message" is a JSON
object.

The delivery core posts an answer by calling `post`; here that puts the rendered JSON in the
request's outbox (`Place.handle`), which the handler returns as the response. The same
message is kept (bounded, by answer id) so the styled edit the core makes afterwards is what
`GET /v1/answers/{id}` shows. There are no reactions (`react` does nothing) and nobody to hand
off to (`hand_off` returns None: the core says so).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from askdesk.bots.surface import Place, SurfaceError
from askdesk.core.types import Answer

PLATFORM = "http"
KEEP_MESSAGES = 2000  # answers whose latest text GET /v1/answers/{id} can show


class Outbox:
    """What one request's answer posted, in order (the response body's `messages`)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []


def render_answer(answer: Answer) -> dict[str, Any]:
    """An answer as the API returns it."""
    decision = answer.decision or {}
    return {
        "kind": "answer",
        "answer_id": answer.interaction_id,
        "text": answer.text,
        "answered": not answer.unanswered and not answer.error,
        # answered, but the decision is unsure the docs cover it: `text` starts with the hedge line
        "hedged": answer.hedged,
        "sources": [
            {
                "n": s.n,
                "title": s.title,
                "path": s.path,
                "heading": s.heading,
                "url": s.url,
                "score": round(float(s.score), 4),
            }
            for s in answer.sources
        ],
        "decision": {
            "answer": bool(decision.get("answer", not answer.unanswered)),
            "reason": decision.get("reason") or ("error" if answer.error else None),
            "confidence": answer.confidence,
        },
        "notice": answer.notice,
        "style_pending": answer.style_pending,
        "error": answer.error is not None,
    }


class HttpSurface:
    platform = PLATFORM

    def __init__(self) -> None:
        self._messages: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._by_answer: dict[int, str] = {}
        self._lock = threading.Lock()
        self._refuse = 0  # tests: refuse this many posts (a response that cannot be written)

    def refuse_posts(self, n: int = 1) -> None:
        self._refuse += n

    def render(self, answer: Answer) -> Sequence[dict[str, Any]]:
        return [render_answer(answer)]

    def post(self, place: Place, piece: dict[str, Any], *, first: bool) -> str:
        with self._lock:
            if self._refuse:
                self._refuse -= 1
                raise SurfaceError("the response could not take the answer")
        message = dict(piece, message_id=uuid.uuid4().hex[:16])
        self._keep(message)
        self._outbox(place).messages.append(message)
        return str(message["message_id"])

    def edit(self, place: Place, message: str, piece: dict[str, Any]) -> None:
        with self._lock:
            old = self._messages.get(message)
            if old is None:
                raise SurfaceError("that message is no longer kept")
            old.update(piece, message_id=message, edited=True)
            old["style_pending"] = False

    def react(self, place: Place, message: str, emoji: str, *, on: bool) -> None:
        return None  # an API response has no reactions

    def post_text(self, place: Place, text: str, *, mentions: Sequence[str] = ()) -> str:
        message = {"kind": "notice", "text": text, "message_id": uuid.uuid4().hex[:16]}
        self._outbox(place).messages.append(message)
        return str(message["message_id"])

    def answer_ref(self, place: Place, message: str) -> str:
        return f"{place.channel}:{message}"

    def hand_off(
        self, place: Place, targets: Sequence[str], user: str, question: str, interaction_id: int
    ) -> str | None:
        return None

    def shown(self, answer_id: int) -> dict[str, Any] | None:
        """The answer's message as it stands now (after a styled edit), if still kept."""
        with self._lock:
            message = self._by_answer.get(answer_id)
            found = self._messages.get(message) if message else None
            return dict(found) if found is not None else None

    def _keep(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._messages[message["message_id"]] = message
            if isinstance(message.get("answer_id"), int):
                self._by_answer[message["answer_id"]] = message["message_id"]
            while len(self._messages) > KEEP_MESSAGES:
                _, old = self._messages.popitem(last=False)
                self._by_answer.pop(old.get("answer_id"), None)  # type: ignore[arg-type]

    @staticmethod
    def _outbox(place: Place) -> Outbox:
        if not isinstance(place.handle, Outbox):
            raise SurfaceError("no request is waiting for this message")
        return place.handle
