"""A git smart-HTTP server on 127.0.0.1 behind HTTP basic auth: `git http-backend` (the CGI
program git ships) run per request by a small threaded HTTP server, as a real private git
host would serve a repository. Every request's path, status and Authorization (present or
not) is recorded.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from askdesk.testing.loopback import LoopbackHTTP


class GitHTTP(LoopbackHTTP):
    """Serves the bare repositories under `root` at http://127.0.0.1:PORT/<name>.git."""

    def __init__(self, root: Path, user: str, password: str) -> None:
        self.root = root
        self.credentials = (user, password)
        self.requests: list[tuple[str, int, bool]] = []  # path, status, had Authorization
        self.lock = threading.Lock()
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: object) -> None:
                return None

            def _authorized(self) -> bool:
                given = self.headers.get("Authorization", "")
                user, password = server.credentials
                want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
                return given == want

            def _record(self, code: int) -> None:
                with server.lock:
                    server.requests.append((self.path, code, "Authorization" in self.headers))

            def _serve(self) -> None:
                if not self._authorized():
                    self._record(401)
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "GIT_PROJECT_ROOT": str(server.root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "REQUEST_METHOD": self.command,
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "REMOTE_USER": server.credentials[0],
                    "REMOTE_ADDR": self.client_address[0],
                    "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                }
                if self.headers.get("Content-Encoding"):
                    env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
                done = subprocess.run(
                    ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60
                )
                head, _, payload = done.stdout.partition(b"\r\n\r\n")
                code = 200
                headers = []
                for line in head.decode("latin-1").split("\r\n"):
                    key, _, value = line.partition(":")
                    if key.lower() == "status":
                        code = int(value.strip().split()[0])
                    elif key:
                        headers.append((key, value.strip()))
                self._record(code)
                self.send_response(code)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _serve
            do_POST = _serve

        return Handler
