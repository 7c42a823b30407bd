"""A third-party source type for askdesk: documents from a JSON Lines file.

Written as a separate distribution would be: it imports only `askdesk.plugins`, and its
distribution registers `JsonLinesSettings` under the `askdesk.sources` entry points:

    [project.entry-points."askdesk.sources"]
    jsonl = "askdesk_source_example:JsonLinesSettings"
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from askdesk.plugins import (
    Item,
    Listing,
    LoadError,
    Source,
    SourceSettings,
    content_validator,
    prefixed,
)

PREFIX = "jsonl:"


class JsonLinesSource(Source):
    """One Markdown document per line of the file: `# title`, then the body."""

    kind = "jsonl"

    def __init__(self, file: Path, name: str = "", url_template: str | None = None) -> None:
        self.file = Path(file)
        self.name = name
        self.url_template = url_template
        self.location = str(self.file.resolve())
        self.finished = False

    def _entries(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for line in self.file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                out[str(entry["id"])] = entry
        return out

    @staticmethod
    def _text(entry: dict[str, str]) -> str:
        return f"# {entry['title']}\n\n{entry['body']}\n"

    def list_items(self) -> Listing:
        items = [
            Item(
                doc_id=prefixed(self.name, f"{key}.md"),
                fmt="markdown",
                validator=content_validator(self._text(entry).encode()),
                url=self.url_template.format(path=key) if self.url_template else None,
                key=key,
            )
            for key, entry in self._entries().items()
        ]
        return Listing(items)

    def read(self, item: Item, max_bytes: int) -> bytes:
        entry = self._entries().get(item.key)
        if entry is None:
            raise LoadError("gone from the file since it was listed")
        return self._text(entry).encode()[:max_bytes]

    def finish(self) -> None:
        """Proves the ingester calls it: the test reads the marker this leaves."""
        self.file.with_suffix(".synced").write_text(str(len(self._entries())))


class JsonLinesSettings(SourceSettings):
    """`[[sources]] type = "jsonl"`: a JSON Lines file of `{"id", "title", "body"}`."""

    type: Literal["jsonl"] = "jsonl"
    file: Path
    web_url: str | None = None

    prefixes = (PREFIX,)

    @property
    def where(self) -> str:
        return str(self.file)

    def build(self, state_dir: Path) -> Source:
        return JsonLinesSource(self.file, self.name, self.web_url)

    @classmethod
    def one_off(cls, argument: str, state_dir: Path) -> Source:
        return JsonLinesSource(Path(argument[len(PREFIX) :]))
