"""Where the layer packages live: beside this package in a checkout, inside it once installed.

The design card keeps the layer folders (`bots/`, `core/`, `dashboard/`, `feedback/`,
`retrieval/`, `styling/`) at the top of the repository, where a newcomer sees them, yet everything
imports as `askdesk.<layer>` so askdesk never claims generic top-level names such as `core`.
The wheel gets there by remapping (setup.py puts `core/` at `askdesk/core/`), an editable install
through setuptools' own finder. A plain checkout on `PYTHONPATH` (git worktrees, CI before
install) needs this finder: it resolves exactly `askdesk.<layer>` to the folder beside the
package, and refuses a bare `import core` of those folders, which would load a second copy of
every module (ARCHITECTURE.md, "Layout").
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec, PathFinder
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType

LAYERS = ("bots", "core", "dashboard", "feedback", "retrieval", "styling")
"""The layer folders, in the order setup.py maps them (one list: tests check setup.py's)."""


class CheckoutLayers(MetaPathFinder):
    """Finds `askdesk.<layer>` in a source checkout; refuses the same folder as a bare `<layer>`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        parent, _, name = fullname.rpartition(".")
        if parent == "askdesk" and name in LAYERS:
            folder = self.root / name
            return spec_from_file_location(
                fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
            )
        if not parent and name in LAYERS:
            spec = PathFinder.find_spec(name)
            if spec is not None and spec.origin and Path(spec.origin).is_relative_to(self.root):
                raise ImportError(f"import askdesk.{name}, not {name} (askdesk/_layout.py)")
        return None


def checkout_root() -> Path | None:
    """The repository root when this package runs from a checkout, else None (an install)."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and all(
        (root / layer / "__init__.py").is_file() for layer in LAYERS
    ):
        return root
    return None


def install_checkout_finder() -> None:
    """Puts `CheckoutLayers` first on the import path, once, when running from a checkout."""
    root = checkout_root()
    if root is None or any(isinstance(f, CheckoutLayers) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, CheckoutLayers(root))
