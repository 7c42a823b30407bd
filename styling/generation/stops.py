"""When the decoding of a unit stops early: a loop (a line or sentence said twice) or the end
of a sign-off line.

A 135M model kept from ending while a placeholder is missing tends to repeat itself or to
write past its own sign-off into a made-up next turn; these stops end the unit there, and
the rewriter keeps its drafted words or retries it sentence by sentence.
"""

from __future__ import annotations

import re
from typing import Any

from askdesk.styling.generation.units import line_sentences

REPETITION = "repetition"


def repeated_sentence(text: str) -> bool:
    """Two sentences with the same words (4 or more) in a different order or with other
    placeholders: a loop that `repeated_line` does not see."""
    seen: set[frozenset[str]] = set()
    for line in text.split("\n"):
        for sentence in line_sentences(line):
            words = frozenset(re.findall(r"[a-z']{3,}", sentence.lower()))
            if len(words) >= 4:
                if words in seen:
                    return True
                seen.add(words)
    return False


def repeated_line(text: str, min_chars: int = 8) -> str | None:
    """The first complete line that repeats an earlier one (a decoding loop), or None.

    Short lines (a bullet marker, `---`) may legitimately repeat; lines inside code fences
    never count, a code block is restored from the draft anyway."""
    seen: set[str] = set()
    fenced = False
    for line in text.split("\n"):
        key = line.strip()
        if key.startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced or len(key) < min_chars:
            continue
        if key in seen:
            return key
        seen.add(key)
    return None


def loop_stop(tokenizer: Any) -> Any:
    """A decode Stop: "repetition" as soon as a generated line repeats an earlier one."""

    def stop(ids: list[int]) -> str | None:
        if "\n" not in tokenizer.decode(ids[-1:]):  # only a finished line can repeat
            return None
        text = tokenizer.decode(ids, skip_special_tokens=True)
        return REPETITION if repeated_line(text[: text.rindex("\n") + 1]) else None

    return stop


def sign_off_stop(tokenizer: Any, sign_offs: tuple[str, ...]) -> Any:
    """A decode Stop at the end of a sign-off line: the unit is over. With a placeholder
    still missing, the constraint would otherwise keep the model writing past its own end
    (a made-up next turn, up to `max_new_tokens`); stopped, the guard names the missing
    fact and the unit is retried sentence by sentence."""

    def stop(ids: list[int]) -> str | None:
        tail = tokenizer.decode(ids[-24:], skip_special_tokens=True).rstrip()
        for line in sign_offs:
            if tail.endswith(line):
                before = tail[: -len(line)]
                if not before.strip() or before.endswith("\n"):
                    return "sign_off"
        return None

    return stop
