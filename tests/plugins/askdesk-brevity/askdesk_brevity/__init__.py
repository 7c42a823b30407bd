"""A third-party tone scorer: a team whose voice is short answers (1: one line, → 0: long)."""

from __future__ import annotations

from askdesk.plugins import Tone, ToneContext


class Brevity:
    version = "brevity-0.1"

    def __init__(self, words: int) -> None:
        self.words = words

    def score(self, text: str) -> float:
        return self.words / (self.words + len(text.split()))


def build(context: ToneContext) -> Tone | None:
    return Brevity(words=25)
