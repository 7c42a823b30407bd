"""`askdesk dashboard`: serve the Dash dashboard with a real threaded WSGI server.

Loopback by default. Any other address exposes interactions and job buttons to the network, so
it is refused unless `dashboard_password` is set (then every route asks for basic auth).
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import logging
import time
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer
from werkzeug.serving import make_server

from askdesk.cli.context import State, UserError
from askdesk.cli.index_cmd import where_of
from askdesk.core.freshness import index_freshness, sources_overview, with_pending
from askdesk.core.gaps import cluster_questions
from askdesk.dashboard.app import create_app
from askdesk.dashboard.auth import AuthConfig
from askdesk.dashboard.jobs import JobRunner
from askdesk.dashboard.services import Services
from askdesk.feedback.analytics import Analytics
from askdesk.health import Readiness, with_health
from askdesk.settings import RulesSettings
from askdesk.upkeep import reindex_job, retrain_job, start_upkeep, sync_configured

if TYPE_CHECKING:
    from askdesk.wiring import App

log = logging.getLogger(__name__)

FRESHNESS_TTL_S = 30.0


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a hostname: it could resolve to anything


def dashboard(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default: dashboard_host, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default: dashboard_port, 8050).")
    ] = None,
) -> None:
    """Charts, the reindex/retrain recommendation, query history and a playground, in a browser."""
    state: State = ctx.obj
    serve(state.app(), host, port)


def serve(app: App, host: str | None = None, port: int | None = None) -> None:
    """Serve until Ctrl-C (with the upkeep schedule, if any); `askdesk demo` ends here too."""
    s = app.settings
    host = host or s.dashboard_host
    port = s.dashboard_port if port is None else port
    password = s.dashboard_password.get_secret_value() if s.dashboard_password else ""
    if not password and not is_loopback(host):
        raise UserError(
            f"refusing to serve the dashboard on {host} without a password",
            "set ASKDESK_DASHBOARD_PASSWORD (or dashboard_password in askdesk.toml), or bind "
            "to 127.0.0.1",
        )

    auth = AuthConfig(s.dashboard_user, password) if password else None

    dash_app = create_app(build_services(app, auth))
    readiness = Readiness(app.store.ping)  # probes skip auth and the Host check
    server = _listen(host, port, with_health(dash_app.server, readiness))
    readiness.mark_ready()

    scheduler = start_upkeep(app)  # also marks jobs a stopped server left "running"
    shown = f"[{host}]" if ":" in host else host
    typer.echo(
        f"askdesk dashboard at http://{shown}:{server.server_port}/"
        f"{' (basic auth)' if auth else ''}; Ctrl-C stops it.",
        err=True,
    )
    log.info("dashboard serving", extra={"host": host, "port": server.server_port})
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        stop = getattr(scheduler, "stop", None)
        if callable(stop):
            stop()


def _listen(host: str, port: int, wsgi_app: Any) -> Any:
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):  # werkzeug prints its own advice, then exits
            return make_server(host, port, wsgi_app, threaded=True)
    except (OSError, SystemExit) as exc:
        said = captured.getvalue().strip().splitlines()
        why = said[0] if said else (getattr(exc, "strerror", None) or str(exc))
        raise UserError(f"cannot listen on {host}:{port}: {why}", "choose another --port") from None


def build_services(app: App, auth: AuthConfig | None) -> Services:
    """Wire the dashboard's plain dependencies from the settings-backed App."""
    s = app.settings
    store = app.store

    cached: dict[str, Any] = {}

    def freshness() -> dict[str, Any]:
        # hashing the docs folder on every verdict refresh would be wasteful: reuse the last
        # answer for FRESHNESS_TTL_S unless an index run finished meanwhile
        last = store.index_runs.last_finished()
        key = None if last is None else last["id"]
        if cached and cached["key"] == key and time.monotonic() - cached["at"] < FRESHNESS_TTL_S:
            return cached["info"]
        if s.sources:
            info = _sources_freshness(app, last)
        else:
            info = index_freshness(app.docs_dir(None), app.index, last)
        cached.update(key=key, at=time.monotonic(), info=info)
        return info

    def clusters(items: Any) -> list[dict[str, Any]]:
        return cluster_questions(items, app.embedder.encode)

    jobs = JobRunner(
        store.jobs,
        {"reindex": partial(reindex_job, app), "retrain": partial(retrain_job, app)},
    )

    def sync_source(name: str, started_by: str) -> Any:
        job = partial(lambda progress, only: sync_configured(app, progress, only=only), only=name)
        cached.clear()
        return jobs.start("reindex", started_by, job)

    return Services(
        store=store,
        analytics=Analytics(store.engine),
        thresholds=s.block(RulesSettings).thresholds(),
        jobs=jobs,
        desk=app.desk(),
        freshness=freshness,
        cluster_questions=clusters,
        auth=auth,
        allowed_hosts=tuple(s.dashboard_allowed_hosts),
        tone_target=s.tone_target,
        window_days=s.rules_window_days,
        style_version=app.active_style_version,
        sync_source=sync_source if s.sources else None,
    )


def _sources_freshness(app: App, last: dict[str, Any] | None) -> dict[str, Any]:
    """The freshness of a desk with `[[sources]]`: the index size, and a row per source."""
    info = index_freshness(None, app.index, last)
    info["error"] = None if "no docs folder" in str(info.get("error")) else info["error"]
    unique: dict[str, Any] = {}
    for conf in app.settings.sources:
        unique.setdefault(conf.name, conf)
    rows = sources_overview(
        [(c.name, c.kind, where_of(c)) for c in unique.values()],
        app.index,
        lambda name: app.store.index_runs.last_finished(source=name),
    )
    folders = {c.name: c.local_folder for c in unique.values() if c.local_folder is not None}
    with_pending(rows, folders, app.index)
    info["sources"] = rows
    known = [r["pending"] for r in rows if r["pending"] is not None]
    info["docs_changed"] = sum(known) if known else None
    info["docs_root"] = f"{len(rows)} sources"
    return info
