"""Which opener when: a trained version's opener offsets, fitted on its training pairs.

Training runs this after saving a version whose frame has more than one opener: the
rewriter of that version scores each opener after each training draft, and
`askdesk.styling.generation.opener.fit_offsets` finds the offsets that pick each example's own
opener. It needs the rewriter, so it lives with training, above generation.
"""

from __future__ import annotations

import json
from pathlib import Path

from askdesk.styling.generation.opener import fit_offsets
from askdesk.styling.generation.rewrite import StyleRewriter
from askdesk.styling.model.prompt import STYLE_FILE


def calibrate_openers(
    folder: Path, pairs: list[tuple[str, str]], base_cache: Path | None = None
) -> tuple[float, ...]:
    """Fit the opener offsets of a trained version on its training pairs and store them in
    its style.json (askdesk.styling.generation.opener); returns them. A frame with one opener needs
    none."""
    rewriter = StyleRewriter(folder, base_cache=base_cache)
    frame = rewriter.frame
    if len(frame.openers) < 2:
        return ()
    scores, labels = [], []
    for draft, answer in pairs:
        first = answer.strip().split("\n")[0].strip()
        if first in frame.openers:
            scores.append(rewriter.opener_scores(rewriter.opener_input(draft)))
            labels.append(frame.openers.index(first))
    offsets = tuple(fit_offsets(scores, labels))
    path = Path(folder) / STYLE_FILE
    style = json.loads(path.read_text())
    style.setdefault("frame", {})["opener_offsets"] = list(offsets)
    path.write_text(json.dumps(style, indent=2, ensure_ascii=False))
    return offsets
