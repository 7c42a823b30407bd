"""HTTP basic auth in front of every dashboard route, and who the current user is.

Dash serves its layout, assets and callbacks from one Flask app, so a single
``before_request`` hook covers them all. Passwords are compared in constant time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from flask import Flask, Response, request

ANONYMOUS = "dashboard"


@dataclass(frozen=True)
class AuthConfig:
    user: str
    password: str = field(repr=False)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def install_basic_auth(server: Flask, config: AuthConfig | None) -> None:
    """Require the configured user and password on every request (no-op without config)."""
    if config is None:
        return

    @server.before_request
    def _require_login() -> Response | None:
        auth = request.authorization
        ok = (
            auth is not None
            and auth.type == "basic"
            and _same(auth.username or "", config.user)
            & _same(auth.password or "", config.password)
        )
        if ok:
            return None
        return Response(
            "login required\n",
            401,
            {"WWW-Authenticate": 'Basic realm="askdesk dashboard", charset="UTF-8"'},
        )


def current_user() -> str:
    """The logged-in user's name, or a fixed name when the dashboard runs without auth."""
    auth = request.authorization
    return (auth.username if auth is not None and auth.username else None) or ANONYMOUS
