"""A real S3 API on 127.0.0.1: `moto_server` (from `moto[server]`, the dev extra), started on
a free port by the tests that need it and stopped after them."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

_VENV_MOTO = Path(sys.executable).with_name("moto_server")
MOTO = str(_VENV_MOTO) if _VENV_MOTO.exists() else (shutil.which("moto_server") or "")
needs_moto = pytest.mark.skipif(
    not MOTO, reason="moto_server not installed (pip install 'moto[server]')"
)


@dataclass
class S3:
    endpoint: str
    process: subprocess.Popen

    def options(self) -> dict[str, str]:
        """LanceDB storage options for this endpoint (moto accepts any credentials)."""
        return {
            "aws_endpoint": self.endpoint,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
            "aws_region": "us-east-1",
            "allow_http": "true",
        }

    def env(self) -> dict[str, str]:
        """The same, as the AWS_* variables LanceDB reads from the environment."""
        return {
            "AWS_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }

    def make_bucket(self, name: str) -> str:
        request = urllib.request.Request(f"{self.endpoint}/{name}", method="PUT")
        with urllib.request.urlopen(request, timeout=10):
            pass
        return name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(port: int | None = None) -> S3:
    port = port or free_port()
    process = subprocess.Popen(
        [MOTO, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                return S3(endpoint, process)
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)


def stop_moto(s3: S3) -> None:
    s3.process.terminate()
    try:
        s3.process.wait(10)
    except subprocess.TimeoutExpired:
        s3.process.kill()
        s3.process.wait()
