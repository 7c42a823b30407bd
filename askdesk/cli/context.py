"""What every command shares: building the App from settings, and failing with one line."""

from __future__ import annotations

import contextlib
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

if TYPE_CHECKING:
    from askdesk.settings import Settings
    from askdesk.wiring import App


class UserError(Exception):
    """A problem the user can fix; printed as one line, `error: <what> (<hint>)`."""

    def __init__(self, what: str, hint: str | None = None) -> None:
        super().__init__(f"{what} ({hint})" if hint else what)


@dataclass
class State:
    data_dir: Path | None = None
    verbose: bool = False
    _app: Any = field(default=None, repr=False)

    def app(self, **overrides: Any) -> App:
        if self._app is None:
            # lean: settings, App (pydantic, SQLAlchemy) load when a command needs them (issue 23)
            from askdesk.logs import setup_logging
            from askdesk.wiring import App

            settings = self.settings(**overrides)
            setup_logging(
                settings.log_file
                if settings.data_dir.is_dir() or not settings.data_dir.exists()
                else None,
                settings.log_level,
                console_level="INFO" if self.verbose else "WARNING",
            )
            self._app = App(settings)
        return self._app

    def settings(self, **overrides: Any) -> Settings:
        """The settings, or one line saying what is wrong with them (an unknown or invalid
        setting, a file that is not TOML)."""
        # lean: settings, App (pydantic, SQLAlchemy) load when a command needs them (issue 23)
        from pydantic import ValidationError

        from askdesk.setting_names import UnknownSetting
        from askdesk.settings import Settings, config_file

        if self.data_dir is not None:
            overrides["data_dir"] = self.data_dir
        try:
            return Settings(**overrides)
        except tomllib.TOMLDecodeError as exc:
            raise UserError(
                f"{config_file()} is not valid TOML: {exc}", "fix the line it names"
            ) from exc
        except UnknownSetting as exc:
            raise UserError(exc.what, exc.hint) from exc
        except ValidationError as exc:
            err = exc.errors()[0]
            said = (err.get("ctx") or {}).get("error")
            if hasattr(said, "what") and hasattr(said, "hint"):  # one line of its own
                raise UserError(said.what, said.hint) from exc
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            if err["type"] == "extra_forbidden":
                raise UserError(
                    f"unknown setting {where!r}", "`askdesk config check` lists every setting"
                ) from exc
            raise UserError(
                f"invalid setting {where}: {err['msg']}",
                f"check {where} in {config_file()} or ASKDESK_{where.split('.')[0].upper()}",
            ) from exc


def _known_errors() -> tuple[type[BaseException], ...]:
    # lean: these errors' modules load once a command has failed, not for --help (issue 23)
    from askdesk.core.evaluation import GoldenError
    from askdesk.feedback.db import StoreError
    from askdesk.locking import Busy
    from askdesk.registry import PluginError
    from askdesk.retrieval.embedding import EmbeddingError
    from askdesk.retrieval.index import IndexUnavailable
    from askdesk.setting_names import UnknownSetting
    from askdesk.styling.model.base import BaseModelError
    from askdesk.wiring import DataDirError

    return (
        UserError,
        BaseModelError,
        UnknownSetting,
        PluginError,  # a composer, chat surface or tone scorer that cannot start
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


def error_line(what: str, hint: str | None = None) -> str:
    """The one error style of every command: `error: <what> (<hint>)`."""
    return f"error: {what} ({hint})" if hint else f"error: {what}"


@contextlib.contextmanager
def fail_cleanly() -> Iterator[None]:
    # typer vendors click; its exceptions are only importable from there

    try:
        yield
    except (KeyboardInterrupt, typer.Abort):
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except NoArgsIsHelpError as exc:  # `askdesk` or `askdesk style` alone: the help
        exc.show()
        sys.exit(2)
    except UsageError as exc:  # a missing argument, an unknown option or command
        where = exc.ctx.command_path if exc.ctx is not None else "askdesk"
        what = exc.format_message().strip().rstrip(".")
        what = what[:1].lower() + what[1:]  # "Missing argument" → "missing argument"
        print(error_line(what, f"see {where} --help"), file=sys.stderr)
        sys.exit(2)
    except ClickException as exc:
        print(error_line(exc.format_message().strip()), file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        if isinstance(exc, _known_errors()):
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(error_line(*with_hint(message, exc)), file=sys.stderr)
            sys.exit(2)
        raise


_HINTS: tuple[tuple[str, str], ...] = (
    # (start of a message from a lower layer, the hint that goes with it)
    ("docs folder not found", "give a folder that exists, e.g. askdesk index askdesk/sample/docs"),
    ("golden file not found", "the bundled sample is askdesk/sample/golden.jsonl"),
    ("no index", "run `askdesk index DOCS_FOLDER` first"),
)
_TYPE_HINTS: dict[str, str] = {
    "GoldenError": 'one JSON object per line: {"question", "answer"?, "sources"?}',
    "StoreError": "check database_url (ASKDESK_DATABASE_URL) and that the database answers",
    "EmbeddingError": "check embed_model (ASKDESK_EMBED_MODEL)",
    "ComposerError": "check answer_backend (ASKDESK_ANSWER_BACKEND)",
    "IndexUnavailable": "run `askdesk index DOCS_FOLDER`, or check lancedb_uri",
    "Busy": "try again when it ends",
    "PermissionError": "check the permissions of the path it names",
    "FileNotFoundError": "check the path",
    "NotADirectoryError": "give a folder",
    "DataDirError": "set ASKDESK_DATA_DIR or --data-dir to a folder",
}


def with_hint(message: str, exc: BaseException | None = None) -> tuple[str, str | None]:
    """`message` as (what, hint): a message that already ends with its hint in brackets is
    kept; one that carries it after `; ` or `: run ` is split there; else the hint known for
    its start or its kind of error is added."""
    if message.endswith(")") and " (" in message:
        return message, None
    for sep in ("; ", ", e.g. ", ": run ", ": set ", ": copy "):
        what, found, hint = message.partition(sep)
        if found and what and hint:
            verb = sep.strip(" ,:;")
            return what, f"{verb} {hint}" if verb in ("run", "set", "copy", "e.g.") else hint
    for start, hint in _HINTS:
        if message.startswith(start):
            return message, hint
    for kind in type(exc).__mro__ if exc is not None else ():
        if kind.__name__ in _TYPE_HINTS:
            return message, _TYPE_HINTS[kind.__name__]
    return message, None
