"""The built-in source types: a docs folder, a website, a git repository.

Each is a SourceSettings model (askdesk.retrieval.source_types) registered under the
`askdesk.sources` entry points (pyproject.toml; askdesk.retrieval.source_registry). The tables keep
the keys they had before `type` existed: a table with `path`, `url` or `git` and no `type`
is that type.

Light on purpose (the settings import this on every command): the website and repository
sources need an HTTP client and git, so their modules load when one is built
(`importlib.import_module`, the one place each is named).
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from askdesk.retrieval.crawl_limits import CrawlLimits
from askdesk.retrieval.source_types import SourceSettings, token_from
from askdesk.retrieval.sources import FolderSource, Source
from askdesk.retrieval.urls import redact

_CRAWL = CrawlLimits()  # the crawler's defaults live there

WEB_MODULE = "askdesk.retrieval.web"  # requests, BeautifulSoup: loaded when a website is synced
GIT_MODULE = "askdesk.retrieval.gitsource"  # git: loaded when a repository is synced


def state_key(argument: str) -> str:
    """The state folder of a one-off source, named after the argument without credentials:
    not even a hash of a password on disk."""
    return "_" + hashlib.sha256(redact(argument).encode()).hexdigest()[:12]


class FolderSourceSettings(SourceSettings):
    """`type = "folder"`: a docs folder on this machine."""

    type: Literal["folder"] = "folder"
    path: Path = Field(description="A docs folder.")
    web_url: str | None = Field(
        None, description="Link for answers, with {path}, e.g. https://docs.example.com/{path}."
    )

    implied_by = "path"

    @property
    def where(self) -> str:
        return str(self.path)

    @property
    def local_folder(self) -> Path | None:
        return self.path

    def build(self, state_dir: Path) -> Source:
        return FolderSource(self.path, self.name, self.web_url)

    @classmethod
    def takes(cls, argument: str) -> bool:
        """Anything no other type claims is a folder (askdesk.sourcing asks it last)."""
        return True

    @classmethod
    def one_off(cls, argument: str, state_dir: Path) -> Source:
        return FolderSource(Path(argument))


class WebSourceSettings(SourceSettings):
    """`type = "web"`: a website, crawled within its start URL's prefix."""

    type: Literal["web"] = "web"
    url: str = Field(description="A website: crawled within this URL's prefix.")
    token_env: str | None = Field(
        None, description="The environment variable holding an access token."
    )
    max_pages: int = Field(2000, ge=1, description="Pages fetched per sync at most.")
    max_mb: float = Field(200.0, gt=0, description="Megabytes downloaded per sync at most.")
    delay_s: float = Field(0.0, ge=0, description="Pause between requests per worker.")
    concurrency: int = Field(4, ge=1, le=16, description="Requests in flight at most.")
    page_deadline_s: float = Field(
        _CRAWL.page_deadline_s,
        gt=0,
        description="Wall-clock seconds one page may take (a slow page is kept as it was).",
    )
    sync_deadline_s: float = Field(
        _CRAWL.sync_deadline_s,
        gt=0,
        description="Wall-clock seconds one crawl may take; pages not reached are kept.",
    )

    implied_by = "url"
    prefixes = ("http://", "https://")

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.lower().startswith(cls.prefixes):
            raise ValueError("url must start with http:// or https://")
        return v

    @property
    def where(self) -> str:
        return redact(self.url)

    def limits(self) -> CrawlLimits:
        return CrawlLimits(
            max_pages=self.max_pages,
            max_bytes=int(self.max_mb * 1_000_000),
            delay_s=self.delay_s,
            concurrency=self.concurrency,
            page_deadline_s=self.page_deadline_s,
            sync_deadline_s=self.sync_deadline_s,
        )

    def build(self, state_dir: Path) -> Source:
        web = importlib.import_module(WEB_MODULE)
        token = token_from(self.token_env)
        return web.WebSource(self.url, state_dir, name=self.name, limits=self.limits(), token=token)

    @classmethod
    def one_off(cls, argument: str, state_dir: Path) -> Source:
        return importlib.import_module(WEB_MODULE).WebSource(argument, state_dir)


class GitSourceSettings(SourceSettings):
    """`type = "git"`: a git repository (https, ssh or file URL), cloned into the data dir."""

    type: Literal["git"] = "git"
    git: str = Field(description="A git repository URL (https, ssh or file).")
    branch: str | None = Field(None, description="The branch (default: the remote's).")
    subdir: str | None = Field(None, description="Only this folder of the repository.")
    token_env: str | None = Field(
        None, description="The environment variable holding an access token."
    )
    web_url: str | None = Field(
        None,
        description="Link for answers, with {path} and {commit}, e.g. "
        "https://github.com/org/repo/blob/{commit}/{path}.",
    )

    implied_by = "git"
    prefixes = ("git+",)

    @property
    def where(self) -> str:
        return redact(self.git)

    def build(self, state_dir: Path) -> Source:
        git = importlib.import_module(GIT_MODULE)
        return git.GitSource(
            self.git,
            state_dir,
            name=self.name,
            branch=self.branch,
            subdir=self.subdir,
            token=token_from(self.token_env),
            web_url=self.web_url,
        )

    @classmethod
    def one_off(cls, argument: str, state_dir: Path) -> Source:
        return importlib.import_module(GIT_MODULE).GitSource(argument, state_dir)


BUILTIN_TYPES: dict[str, type[SourceSettings]] = {
    "folder": FolderSourceSettings,
    "web": WebSourceSettings,
    "git": GitSourceSettings,
}
"""The built-in source types by name; pyproject.toml registers the same ones."""
