"""The style-note vocabulary is one list (`askdesk.feedback.style_notes.StyleNote`).

`styling` writes most notes but may not import the feedback layer, so this test reads its
source: every "kind: detail" note and every note constant it writes must be a kind the
enum knows, or the dashboard would count it as "other" without anyone noticing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from askdesk.core.engine import STYLE_PENDING
from askdesk.feedback.style_notes import KeptGroup, StyleNote, kept_group

ROOT = Path(__file__).resolve().parents[1]
NOTE = re.compile(r"^([a-z][a-z ]{2,30}): ")
NOT_NOTES = {
    "usage",  # a CLI usage line
    "unsupported",  # a dropped sentence, inside a guard note
    "dropped unsupported sentences",  # a rewritten unit's side note, not its style note
    # the example checker's messages about training data (`askdesk style check`)
    "output adds facts not in the input",
    "output drops facts of the input",
    "fact used more often than in the input",
}
NOTE_CONSTANTS = {"TIMEOUT", "REPETITION", "REWRITTEN", "RETRY_TIME"}


def _styling_strings() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "styling").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            head = None
            if isinstance(node, ast.JoinedStr) and node.values:
                first = node.values[0]
                head = first.value if isinstance(first, ast.Constant) else None
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                head = node.value
            if head is not None:
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", head))
    return found


def _note_constants() -> dict[str, str]:
    out = {}
    for path in sorted((ROOT / "styling").rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id in NOTE_CONSTANTS
                and isinstance(node.value, ast.Constant)
            ):
                out[node.targets[0].id] = node.value.value
    return out


def test_every_note_the_style_model_writes_has_a_known_kind():
    notes = [
        (where, text)
        for where, text in _styling_strings()
        if (m := NOTE.match(text)) and m.group(1) not in NOT_NOTES
    ]
    assert len(notes) >= 10  # the scan sees the guard, placeholder and pass-through notes
    unknown = [(where, text) for where, text in notes if StyleNote.of(text) is None]
    assert unknown == []
    constants = _note_constants()
    assert set(constants) == NOTE_CONSTANTS
    assert all(StyleNote.of(value) is not None for value in constants.values()), constants


@pytest.mark.parametrize(
    ("note", "kind", "group"),
    [
        ("guard: missing '24h'", StyleNote.GUARD, KeptGroup.GUARD),
        ("placeholders: unbalanced", StyleNote.PLACEHOLDERS, KeptGroup.GUARD),
        ("timeout", StyleNote.TIMEOUT, KeptGroup.TIMEOUT),
        ("repetition", StyleNote.REPETITION, KeptGroup.LOOP),
        ("model error: OSError", StyleNote.MODEL_ERROR, KeptGroup.ERROR),
        ("style model failed: RuntimeError", StyleNote.STYLE_FAILED, KeptGroup.ERROR),
        ("passed through: a Markdown table", StyleNote.PASSED_THROUGH, KeptGroup.PASSED),
        ("pending", StyleNote.PENDING, KeptGroup.PENDING),
        ("guardrail", None, KeptGroup.OTHER),  # a kind is a whole word, then ":" or the end
        (None, None, KeptGroup.OTHER),
    ],
)
def test_notes_parse_to_their_kind_and_group(note, kind, group):
    assert StyleNote.of(note) is kind
    assert kept_group(note) is group


def test_the_engine_writes_its_notes_from_the_vocabulary():
    assert StyleNote.STYLE_FAILED.with_detail("OSError") == "style model failed: OSError"
    assert StyleNote.of(STYLE_PENDING) is StyleNote.PENDING
