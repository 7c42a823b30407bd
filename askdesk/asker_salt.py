"""The fleet's asker salt: one secret every process on a shared database hashes user ids with.

Its own module, below both `askdesk.wiring` (which asks for the salt) and `askdesk.fleet`
(the rest of what processes on one database agree on), so neither imports the other.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from askdesk.feedback.store import FeedbackStore

log = logging.getLogger(__name__)

SALT_SETTING = "asker_salt"


def shared_salt(store: FeedbackStore, salt_file: Path) -> str:
    """The fleet's asker salt. The first process to ask proposes DATA_DIR/salt when it has
    one (hashes already stored keep matching), else a fresh secret; the stored value is never
    replaced, and a salt file that disagrees with it is left as it is (and reported)."""
    existing = salt_file.read_text().strip() if salt_file.is_file() else ""
    value = store.fleet.instance_setting(SALT_SETTING, existing or secrets.token_hex(32))
    if existing and existing != value:
        log.warning(
            "DATA_DIR/salt differs from the database's asker salt; the database's is used",
            extra={"salt_file": str(salt_file)},
        )
    return value
