"""Refuse requests from other sites: a Host check (DNS rebinding) and an Origin check (CSRF).

A dashboard on 127.0.0.1 without a password is still reachable from any web page the user
opens: a page on ``attacker.example`` whose name is rebound to 127.0.0.1 talks to it with
``Host: attacker.example:PORT``, and any page can POST to ``http://127.0.0.1:PORT/`` with its
own ``Origin``. Both would start jobs and read interactions. So every request must name the
address the server is bound to (or a host the settings allow), and every state-changing
request that says where it came from must come from the dashboard's own origin.

The bound address comes from the WSGI environ: werkzeug's server (what ``askdesk dashboard``
runs) fills ``SERVER_NAME``/``SERVER_PORT`` from its listening socket, never from the request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import Flask, Response, request

from askdesk.dashboard.hosts import HostPolicy, cross_site

log = logging.getLogger(__name__)


def install_request_guard(server: Flask, allowed_hosts: Iterable[str] = ()) -> None:
    """Check every request's Host and every POST's origin before anything else runs."""
    policy = HostPolicy(allowed_hosts)

    @server.before_request
    def _guard() -> Response | None:
        environ = request.environ
        host = environ.get("HTTP_HOST", "")
        bind_name = str(environ.get("SERVER_NAME", ""))
        try:
            bind_port = int(environ.get("SERVER_PORT", 0))
        except ValueError:
            bind_port = 0
        if not policy.allows(host, bind_name, bind_port):
            _refused("host", host)
            return Response(
                "bad Host header: not this dashboard's address (see dashboard_allowed_hosts)\n",
                400,
                {"Content-Type": "text/plain; charset=utf-8"},
            )
        why = cross_site(request.method, request.headers, host)
        if why is not None:
            _refused(why, host)
            return Response(
                "cross-site request refused\n", 403, {"Content-Type": "text/plain; charset=utf-8"}
            )
        return None


def _refused(reason: str, host: str) -> None:
    log.warning(
        "dashboard request refused",
        extra={
            "reason": reason,
            "method": request.method,
            "path": request.path[:100],
            "host": host[:100],
        },
    )
