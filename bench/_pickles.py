"""Reading the benches' pickled caches (searches, replays) across the namespace move.

Caches under bench/_data written before issue 24 name classes by their old top-level modules
(`retrieval.search.SearchHit`); the same classes now live at `askdesk.retrieval.search`. The
cache is only a speed-up, but re-reading it keeps a before/after comparison on the very same
searches, so the old names are mapped instead of the cache being thrown away.
"""

from __future__ import annotations

import pickle
from typing import IO, Any

from askdesk._layout import LAYERS


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.partition(".")[0] in LAYERS:
            module = f"askdesk.{module}"
        return super().find_class(module, name)


def load(file: IO[bytes]) -> Any:
    """`pickle.load`, with pre-namespace module names mapped to `askdesk.<layer>`."""
    return _Unpickler(file).load()
