"""When a message without a mention is a follow-up, and which conversation it continues.

Rules (README "Follow-ups"): in a thread where askdesk has answered, a new human message is
a follow-up unless it names someone else or asks nothing ("thanks", "ok", an emoji); in a
DM, a message within `dm_window_s` of the last answer continues that conversation. A flood
in one conversation is cut off after `limit` answers per `window_s`, said once.

All of it reads the interactions already recorded (no new table): a conversation askdesk
answered in is one with a recorded interaction under that thread id.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

log = logging.getLogger(__name__)

_ACK_TEXT = """
    thanks thank thx ty tyvm tysm cheers merci danke gracias ta appreciated appreciate
    ok okay k kk okie alright sure cool great nice awesome perfect good excellent brilliant
    amazing fantastic super sweet lovely noted understood gotcha yep yes yeah yup no nope
    got it that works worked helps helped helpful much very so a lot lots you u again man
    all right fine np lol haha hehe wow oh ah i see will do makes sense
"""
_ACK_WORDS = frozenset(_ACK_TEXT.split())
"""Words that, on their own, ask nothing: "ok thanks!", "great, that helped a lot"."""

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_MAX_ACK_WORDS = 8


def asks_nothing(text: str) -> bool:
    """True for a message that needs no answer: empty, only emoji or punctuation, or only
    thanks / agreement words ("ok", "thanks!", "👍", "great, thank you so much 🙏"). A
    question mark or a number always asks something ("ok?", "ok 2")."""
    if "?" in text or any(c.isdigit() for c in text):  # "ok 2": picks an option
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:  # emoji, punctuation, a sticker's empty text
        return not any(unicodedata.category(c).startswith(("L", "N")) for c in text)
    return len(words) <= _MAX_ACK_WORDS and all(w in _ACK_WORDS for w in words)


class Conversations:
    """Which conversations askdesk answered in, from the recorded interactions."""

    def __init__(
        self,
        store: Any,
        *,
        dm_window_s: float = 1800.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.dm_window_s = dm_window_s
        self.clock = clock

    def answered_in(self, platform: str, channel: str, conversation: str) -> bool:
        """Whether askdesk answered (or apologised) in this thread before. A database that
        cannot be read counts as no: silence, never a wrong guess."""
        try:
            return bool(self.store.interactions.in_thread(platform, channel, conversation, 1))
        except Exception as exc:
            log.warning("conversation lookup failed", extra={"error": type(exc).__name__})
            return False

    def dm_continued(self, platform: str, channel: str) -> str | None:
        """The DM conversation a new message continues: the one last answered in this DM
        channel, if that answer is under `dm_window_s` old; else None (a new conversation)."""
        if self.dm_window_s <= 0:
            return None
        try:
            row = self.store.interactions.last_in_channel(platform, channel)
        except Exception as exc:
            log.warning("conversation lookup failed", extra={"error": type(exc).__name__})
            return None
        if row is None or not row.get("thread"):
            return None
        at: datetime = row["created_at"]
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if self.clock() - at > timedelta(seconds=self.dm_window_s):
            return None
        return str(row["thread"])


Verdict = Literal["answer", "say_once", "silent"]


class ThreadLimit:
    """At most `limit` answers per conversation per `window_s` seconds (in this process).

    The first message over the limit gets `"say_once"` (the core posts one notice), later
    ones `"silent"` until the window moves on. Bounded: the oldest conversations are
    forgotten past `max_conversations`."""

    def __init__(
        self,
        limit: int = 8,
        window_s: float = 300.0,
        *,
        max_conversations: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_conversations = max_conversations
        self.clock = clock
        self._seen: OrderedDict[str, tuple[list[float], bool]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, conversation: str) -> Verdict:
        now = self.clock()
        with self._lock:
            times, told = self._seen.pop(conversation, ([], False))
            times = [t for t in times if now - t < self.window_s]
            if not times:
                told = False
            if len(times) < self.limit:
                times.append(now)
                verdict: Verdict = "answer"
            else:
                verdict = "silent" if told else "say_once"
                told = True
            self._seen[conversation] = (times, told)
            while len(self._seen) > self.max_conversations:
                self._seen.popitem(last=False)
            return verdict
