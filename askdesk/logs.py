"""Structured logs: one JSON object per line, with secrets scrubbed before anything is written.

Fields passed through `extra=` become keys, so a log line can be filtered by interaction id
or path without parsing prose. Tokens (Slack, Discord, bearer, passwords in URLs) are
redacted by pattern because a library may echo a token inside an error message.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

_SECRETS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}"),  # Discord
    re.compile(r"(?i)(bearer|bot)\s+[A-Za-z0-9._~+/-]{16,}=*"),
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@ in URLs
]
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub("[redacted]", text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


class _ShortFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(f"{record.levelname.lower()}: {record.getMessage()}")


def setup_logging(
    log_file: Path | None, level: str = "INFO", *, console_level: str = "WARNING"
) -> None:
    """JSON lines to the log file; only warnings and errors, briefly, on stderr."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_askdesk", False):
            root.removeHandler(h)
    root.setLevel(min(logging.getLevelName(level.upper()), logging.getLevelName(console_level)))
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(console_level)
    console.setFormatter(_ShortFormatter())
    console._askdesk = True  # type: ignore[attr-defined]
    root.addHandler(console)
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            fh = logging.FileHandler(log_file, encoding="utf-8")
        except OSError:
            fh = None
        if fh is not None:
            fh.setLevel(level.upper())
            fh.setFormatter(JsonFormatter())
            fh._askdesk = True  # type: ignore[attr-defined]
            root.addHandler(fh)
    for noisy in ("httpx", "urllib3", "filelock", "sentence_transformers", "alembic", "lance"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
