"""The words beside every 👍/👎 the dashboard shows: one place, for the panels and the rules.

Where no emoji font is installed the glyph is a box, and a screen reader says "thumbs up" at
best; a column, legend, title, stat or rule text that says 👍/👎 also says it in words.
"""

from __future__ import annotations

VOTE_UP = "👍 helpful"
VOTE_DOWN = "👎 not helpful"
