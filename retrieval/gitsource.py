"""A git repository as a source: a shallow clone kept in the data dir, read by blob id.

Every sync fetches the branch tip (depth 1) and lists the tree with `git ls-tree`, whose blob
ids are the validators: a file whose blob did not change is never read. What changed since
the last synced commit comes from `git diff --name-status -M` (added, modified, deleted,
renamed), which the run report carries; the commit id is recorded with the run and can be
put in answer links (`web_url` with {commit} and {path}).

Credentials for a private http(s) repository — a token from `token_env`, or the
`user:password@` of the configured URL, which is taken out of the URL and kept in memory —
reach git through a credential helper configured in the environment (GIT_CONFIG_* variables)
that reads them from the environment of git's own process and answers only for the
configured protocol and host: never on a command line (visible to every local user in
`ps`), never in the clone's `.git/config`, never in a log or an error message, never sent
to another host a redirect points at. Any credential helper of the user's own git config is
switched off for these commands, so nothing is stored by one either.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from askdesk.retrieval.documents import PIPELINE_VERSION, LoadError, printable_path
from askdesk.retrieval.loaders import format_for_name
from askdesk.retrieval.sources import Item, Listing, Source, prefixed
from askdesk.retrieval.urls import redact, split_credentials

log = logging.getLogger(__name__)

GIT_TIMEOUT_S = 300.0
_STATE = "state.json"


class GitError(Exception):
    """The repository cannot be cloned or fetched; one line, without credentials."""


_HELPER = (
    '!f() { test "$1" = get || exit 0; h=; p=; '
    'while IFS= read -r l && test -n "$l"; do case "$l" in '
    'host=*) h="${l#host=}";; protocol=*) p="${l#protocol=}";; esac; done; '
    'test "$h" = "$ASKDESK_GIT_HOST" && test "$p" = "$ASKDESK_GIT_PROTOCOL" || exit 0; '
    'printf "username=%s\\npassword=%s\\n" "$ASKDESK_GIT_USERNAME" "$ASKDESK_GIT_PASSWORD"; }; f'
)
"""A git credential helper (`!` shell form) that answers only for the configured protocol and
host, from variables in its own environment: the secret is in no argument of any process."""

__all__ = ["GitError", "GitSource", "redact"]


class GitSource(Source):
    kind = "git"

    def __init__(
        self,
        url: str,
        workdir: Path,
        *,
        name: str = "",
        branch: str | None = None,
        subdir: str | None = None,
        token: str | None = None,
        web_url: str | None = None,
    ) -> None:
        url = url.removeprefix("git+")
        user: str | None = None
        password: str | None = None
        if url.lower().startswith(("http://", "https://")):
            url, user, password = split_credentials(url)  # kept in memory, never in argv
        self.url = url
        self.workdir = Path(workdir)
        self.name = name
        self.branch = branch
        self.subdir = (subdir or "").strip("/")
        self._token = token or password
        self._user = user or "x-access-token"
        self.web_url = web_url
        self.location = "git+" + redact(self.url)
        self._commit: str | None = None

    # -- git plumbing ------------------------------------------------------------------------
    @property
    def repo(self) -> Path:
        return self.workdir / "repo"

    def _env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GIT_CONFIG_", "ASKDESK_GIT_"))
        }
        env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"})
        # an empty value resets the helper list: the user's own helpers neither answer nor store
        config = [("credential.helper", "")]
        if self._token:
            parts = urlsplit(self.url)
            config.append(("credential.helper", _HELPER))
            env.update(
                {
                    "ASKDESK_GIT_PROTOCOL": parts.scheme.lower(),
                    "ASKDESK_GIT_HOST": parts.netloc.lower(),
                    "ASKDESK_GIT_USERNAME": self._user,
                    "ASKDESK_GIT_PASSWORD": self._token,
                }
            )
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for i, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{i}"] = key
            env[f"GIT_CONFIG_VALUE_{i}"] = value
        return env

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=cwd or self.repo,
                env=self._env(),
                capture_output=True,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} timed out after {GIT_TIMEOUT_S:.0f} s") from None
        except FileNotFoundError:
            raise GitError("git is not installed") from None
        if done.returncode != 0:
            raise GitError(f"git {args[0]} failed: {self._clean(done.stderr)}")
        return done.stdout.decode("utf-8", "surrogateescape")

    def _clean(self, stderr: bytes) -> str:
        """git's last meaningful line, with the URL's credentials and the token removed."""
        lines = [
            ln.strip()
            for ln in stderr.decode("utf-8", "replace").splitlines()
            if ln.strip() and not ln.startswith("hint:")
        ]
        text = lines[-1] if lines else "unknown error"
        text = text.replace(self.url, redact(self.url))
        if self._token:
            text = text.replace(self._token, "***")
        return redact(text)[:200]

    def _sync_clone(self) -> str:
        """Clone (first time) or fetch the branch tip; returns the commit now checked out."""
        ref = self.branch or "HEAD"
        if not (self.repo / ".git").is_dir():
            if self.repo.exists():
                shutil.rmtree(self.repo)
            self.workdir.mkdir(parents=True, exist_ok=True)
            args = ["clone", "--quiet", "--depth", "1", "--no-checkout"]
            if self.branch:
                args += ["--branch", self.branch]
            self._git(*args, "--", self.url, str(self.repo), cwd=self.workdir)
        else:
            self._git("remote", "set-url", "origin", self.url)
            self._git("fetch", "--quiet", "--depth", "1", "origin", ref)
            self._git("update-ref", "refs/askdesk/tip", "FETCH_HEAD")
            return self._git("rev-parse", "refs/askdesk/tip").strip()
        return self._git("rev-parse", "HEAD").strip()

    # -- the source port ---------------------------------------------------------------------
    def _state(self) -> dict[str, str]:
        try:
            return json.loads((self.workdir / _STATE).read_text())
        except (OSError, ValueError):
            return {}

    def finish(self) -> None:
        """Remember the commit a sync finished at: the base of the next sync's diff."""
        commit = self._commit
        if commit:
            state = {"commit": commit, "url": self.location}
            (self.workdir / _STATE).write_text(json.dumps(state))

    def list_items(self) -> Listing:
        commit = self._sync_clone()
        self._commit = commit
        prefix = self.subdir + "/" if self.subdir else ""
        raw = self._git("ls-tree", "-r", "-z", "--full-tree", commit, *([prefix] if prefix else []))
        items: list[Item] = []
        ignored = 0
        for entry in raw.split("\0"):
            if not entry:
                continue
            meta, path = entry.split("\t", 1)
            mode, typ, blob = meta.split()
            if typ != "blob" or mode == "120000":  # submodules, symbolic links
                continue
            rel = path[len(prefix) :]
            if any(part.startswith(".") for part in rel.split("/")):
                continue
            fmt = format_for_name(rel)
            if fmt is None:
                ignored += 1
                continue
            rel_id = printable_path(rel)
            items.append(
                Item(
                    doc_id=prefixed(self.name, rel_id),
                    fmt=fmt,
                    validator=f"{PIPELINE_VERSION}:git:{blob}",
                    url=self._link(commit, path),
                    key=blob,
                )
            )
        items.sort(key=lambda i: i.doc_id)
        notes: dict[str, object] = {"commit": commit}
        before = self._state().get("commit")
        if before and before != commit:
            notes["changes"] = self._changes(before, commit, prefix)
        return Listing(items, ignored, revision=commit, notes=notes)

    def _changes(self, before: str, commit: str, prefix: str) -> dict[str, object]:
        """What `git diff --name-status` says changed since the last synced commit."""
        try:
            out = self._git(
                "diff",
                "--name-status",
                "-M",
                "-z",
                before,
                commit,
                "--",
                *([prefix] if prefix else []),
            )
        except GitError as exc:  # the old commit was pruned: the blob ids still decide
            return {"error": str(exc)}
        fields = out.split("\0")
        counts: dict[str, int] = {}
        renamed: list[list[str]] = []
        i = 0
        while i < len(fields) and fields[i]:
            status = fields[i][0]
            if status in "RC":
                renamed.append([fields[i + 1], fields[i + 2]])
                i += 3
            else:
                i += 2
            counts[status] = counts.get(status, 0) + 1
        return {"counts": counts, "renamed": renamed[:50], "since": before}

    def _link(self, commit: str, path: str) -> str | None:
        if not self.web_url:
            return None
        return self.web_url.replace("{commit}", commit).replace("{path}", path)

    def read(self, item: Item, max_bytes: int) -> bytes:
        try:
            size = int(self._git("cat-file", "-s", item.key).strip())
            if size > max_bytes:
                raise LoadError(f"too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB limit)")
            done = subprocess.run(
                ["git", "cat-file", "blob", item.key],
                cwd=self.repo,
                env=self._env(),
                capture_output=True,
                timeout=GIT_TIMEOUT_S,
                check=True,
            )
        except (GitError, subprocess.SubprocessError) as exc:
            raise LoadError(f"cannot read from git: {str(exc)[:120]}") from exc
        return done.stdout
