"""One index writer per LanceDB location, whatever database each writer uses.

The index lock in the data dir (a file) or in PostgreSQL (an advisory lock) keeps apart the
writers that share that data dir or that database. Two `askdesk index` runs with different
data dirs — each with its own SQLite — writing one LanceDB location (an S3 prefix, a shared
folder) never see each other's lock: both create the tables, both add every chunk, and the
index ends up with each chunk twice. So the writer also locks the location itself:

- a local folder: an `fcntl` lock on `<folder>/askdesk-index.lock` (freed by the kernel when
  the holder dies);
- `s3://bucket/prefix`: the object `prefix/askdesk-index.lock`, created only if absent
  (`If-None-Match: *`), renewed while the run lasts (`If-Match` its own ETag), deleted at the
  end. A holder that stops renewing for `lease_s` (or a dead process on this host) is gone: the
  next writer takes the object over with `If-Match` the stale ETag, so of two taking over at
  once exactly one wins.

A second writer is refused with one line naming the holder; it has touched nothing. The lock
records the tables' versions when it was taken; a writer that takes over the lock of a run that
died (or a run stopped by Ctrl-C) first restores the tables to those versions, so an
interrupted run leaves the index as it was before it. Other object stores (gs://, az://) get
no location lock (only the data-dir/database lock) and say so in the log.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOCK_NAME = "askdesk-index.lock"
DEFAULT_LEASE_S = 60.0

Versions = dict[str, int]  # table name -> version (0: the table did not exist)


class WriterBusy(Exception):
    """Another writer holds the location; the message says who and what to do."""


@dataclass
class Tables:
    """How the lock reads and restores the index's tables (given by the caller)."""

    versions: Callable[[], Versions]
    restore: Callable[[Versions], list[str]]  # returns what it restored, for the log


def _holder() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex}


def _dead_here(record: Mapping[str, Any]) -> bool:
    """A holder on this host whose process is gone (no need to wait for its lease)."""
    if record.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(record.get("pid", 0)), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, OverflowError):
        return False
    return False


def _restore_after(record: Mapping[str, Any] | None, tables: Tables, uri: str) -> None:
    """The lock was left by a run that did not finish: put the tables back as they were."""
    if not record or not record.get("running"):
        return
    versions = {str(k): int(v) for k, v in (record.get("versions") or {}).items()}
    restored = tables.restore(versions)
    log.warning(
        "an index run was interrupted; its changes were undone",
        extra={"location": uri, "tables": restored, "by": record.get("host")},
    )


@contextmanager
def index_writer(
    uri: str,
    tables: Tables,
    *,
    storage_options: Mapping[str, str] | None = None,
    lease_s: float = DEFAULT_LEASE_S,
) -> Iterator[None]:
    """Hold the location's writer lock for the body, or raise WriterBusy at once."""
    if uri.startswith("s3://"):
        lock: _Lock = _S3Lock(uri, storage_options or {}, lease_s)
    elif "://" not in uri or uri.startswith("file://"):
        lock = _FileLock(Path(uri.removeprefix("file://")))
    else:
        log.warning("no index writer lock on this object store", extra={"location": uri})
        yield
        return
    previous = lock.acquire()
    try:
        _restore_after(previous, tables, uri)
        lock.record({"running": True, "versions": tables.versions()})
    except BaseException:
        lock.release()
        raise
    try:
        yield
    except BaseException as exc:
        if not isinstance(exc, Exception):  # Ctrl-C, a signal: the run is interrupted
            with contextlib.suppress(Exception):
                _restore_after(lock.current, tables, uri)
        raise
    finally:
        lock.release()


class _Lock:
    current: dict[str, Any] | None = None

    def acquire(self) -> dict[str, Any] | None:
        """Take the lock; the record a previous holder left (if any); WriterBusy if held."""
        raise NotImplementedError

    def record(self, fields: dict[str, Any]) -> None:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class _FileLock(_Lock):
    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> dict[str, Any] | None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _read_json(os.pread(fd, 4096, 0))
            os.close(fd)
            raise WriterBusy(_busy(str(self.path.parent), who)) from None
        self.fd = fd
        return _read_json(os.pread(fd, 65536, 0))

    def record(self, fields: dict[str, Any]) -> None:
        assert self.fd is not None
        self.current = {**_holder(), **fields}
        data = json.dumps(self.current).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)
        os.fsync(self.fd)

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)  # finished: nothing to undo for the next writer
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = None


class _S3Lock(_Lock):
    def __init__(self, uri: str, options: Mapping[str, str], lease_s: float) -> None:
        # lean: boto3, botocore (~0.5 s) load only for an index on S3
        import boto3
        from botocore.config import Config

        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        self.uri = uri
        self.bucket = bucket
        self.key = f"{prefix.strip('/')}/{LOCK_NAME}" if prefix.strip("/") else LOCK_NAME
        self.lease_s = lease_s
        endpoint = (
            options.get("aws_endpoint")
            or options.get("endpoint")
            or os.environ.get("AWS_ENDPOINT_URL")
            or os.environ.get("AWS_ENDPOINT")
        )
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint or None,
            region_name=options.get("aws_region") or os.environ.get("AWS_REGION") or None,
            aws_access_key_id=options.get("aws_access_key_id") or None,
            aws_secret_access_key=options.get("aws_secret_access_key") or None,
            aws_session_token=options.get("aws_session_token") or None,
            config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2}),
        )
        self.etag: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _body(self) -> bytes:
        assert self.current is not None
        return json.dumps({**self.current, "expires": time.time() + self.lease_s}).encode()

    def acquire(self) -> dict[str, Any] | None:
        # lean: boto3, botocore (~0.5 s) load only for an index on S3
        from botocore.exceptions import ClientError

        self.current = {**_holder(), "running": False}
        try:
            reply = self.client.put_object(
                Bucket=self.bucket, Key=self.key, Body=self._body(), IfNoneMatch="*"
            )
            self.etag = reply["ETag"]
            self._start_renewing()
            return None
        except ClientError as exc:
            if not _conflict(exc):
                raise
        # someone holds it, or held it and died
        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if _missing(exc):  # released in between: try once more from the start
                return self.acquire()
            raise
        previous = _read_json(got["Body"].read())
        stale = float(previous.get("expires", 0)) < time.time() or _dead_here(previous)
        if not stale:
            raise WriterBusy(_busy(self.uri, previous))
        try:
            reply = self.client.put_object(
                Bucket=self.bucket, Key=self.key, Body=self._body(), IfMatch=got["ETag"]
            )
        except ClientError as exc:
            if _conflict(exc):  # another writer took it over first
                raise WriterBusy(_busy(self.uri, previous)) from None
            raise
        self.etag = reply["ETag"]
        log.warning(
            "took over the index lock of a writer that is gone",
            extra={"location": self.uri, "holder": previous.get("host")},
        )
        self._start_renewing()
        return previous

    def record(self, fields: dict[str, Any]) -> None:
        assert self.current is not None
        self.current.update(fields)
        self._renew()

    def _renew(self) -> bool:
        # lean: boto3, botocore (~0.5 s) load only for an index on S3
        from botocore.exceptions import ClientError

        try:
            reply = self.client.put_object(
                Bucket=self.bucket, Key=self.key, Body=self._body(), IfMatch=self.etag or ""
            )
        except ClientError as exc:
            if _conflict(exc) or _missing(exc):
                log.error("the index lock was taken over", extra={"location": self.uri})
                return False
            raise
        self.etag = reply["ETag"]
        return True

    def _start_renewing(self) -> None:
        def renew() -> None:
            while not self._stop.wait(self.lease_s / 3):
                try:
                    if not self._renew():
                        return
                except Exception as exc:  # one failed renewal; the lease has slack
                    log.warning("index lock renewal failed", extra={"error": type(exc).__name__})

        self._renewer = threading.Thread(target=renew, name="askdesk-index-lease", daemon=True)
        self._renewer.start()

    def release(self) -> None:
        # lean: boto3, botocore (~0.5 s) load only for an index on S3
        from botocore.exceptions import ClientError

        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=15)
        if self.etag is None:
            return
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
        except ClientError as exc:
            if not (_conflict(exc) or _missing(exc)):
                log.warning("index lock not released", extra={"error": type(exc).__name__})
        self.etag = None


def _conflict(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


def _missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("NoSuchKey", "404", "NotFound")


def _read_json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data.decode(errors="replace") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _busy(location: str, who: Mapping[str, Any]) -> str:
    holder = f"{who.get('host', '?')} pid {who.get('pid', '?')}" if who else "another process"
    return (
        f"another index run ({holder}) is writing to {location}; "
        "try again when it ends (one writer per index, whatever database each uses)"
    )
