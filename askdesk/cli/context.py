"""What every command shares: building the App from settings, and failing with one line."""

from __future__ import annotations

import contextlib
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from askdesk.wiring import App


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


@dataclass
class State:
    data_dir: Path | None = None
    verbose: bool = False
    _app: Any = field(default=None, repr=False)

    def app(self, **overrides: Any) -> App:
        if self._app is None:
            from pydantic import ValidationError

            from askdesk.logs import setup_logging
            from askdesk.settings import Settings, config_file
            from askdesk.wiring import App

            if self.data_dir is not None:
                overrides["data_dir"] = self.data_dir
            try:
                settings = Settings(**overrides)
            except tomllib.TOMLDecodeError as exc:
                raise UserError(f"{config_file()} is not valid TOML: {exc}") from exc
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"]) or "settings"
                raise UserError(f"invalid setting {where}: {err['msg']}") from exc
            setup_logging(
                settings.log_file
                if settings.data_dir.is_dir() or not settings.data_dir.exists()
                else None,
                settings.log_level,
                console_level="INFO" if self.verbose else "WARNING",
            )
            self._app = App(settings)
        return self._app


def _known_errors() -> tuple[type[BaseException], ...]:
    from askdesk.composers import ComposerError
    from askdesk.locking import Busy
    from askdesk.wiring import DataDirError
    from core.evaluation import GoldenError
    from feedback.db import StoreError
    from retrieval.embedding import EmbeddingError
    from retrieval.index import IndexUnavailable

    return (
        UserError,
        ComposerError,
        Busy,
        DataDirError,
        GoldenError,
        StoreError,
        EmbeddingError,
        IndexUnavailable,
        FileNotFoundError,
        NotADirectoryError,
        PermissionError,
    )


@contextlib.contextmanager
def fail_cleanly() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:
        if isinstance(exc, _known_errors()):
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"error: {message}", file=sys.stderr)
            sys.exit(2)
        raise
