"""`askdesk status`: how big the index is, when it last ran, and what changed on disk since."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from askdesk.cli.context import State, UserError
from askdesk.cli.render import console, print_json
from askdesk.composers import known_backends, unknown_backend
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.llm_compose import build_llm_composer
from askdesk.core.llm_settings import LLMSettings
from askdesk.logs import redact
from askdesk.retrieval.ingest import diff_folder
from askdesk.upkeep.reindex import run_state
from askdesk.wiring import App


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def status(
    ctx: typer.Context,
    docs: Annotated[
        Path | None, typer.Argument(help="Docs folder (default: the last indexed).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Index size, the last index run, and documents added/changed/removed on disk since."""
    state: State = ctx.obj
    info = _gather(state.app(), docs)
    if as_json:
        print_json(info)
        _fail_on_invalid(info)
        return
    _print_index(info)
    _print_changes(info)
    _print_backend(info)
    _print_style(info["style"])
    c = info["interactions"]
    console.print(
        f"Store: {c['interactions']} interactions, {c['votes']} votes, {c['index_runs']} index runs"
    )
    _fail_on_invalid(info)


def _gather(app: App, docs: Path | None) -> dict[str, Any]:
    """Everything `status` reports, as the JSON `--json` prints."""
    info: dict[str, Any] = {
        "data_dir": str(app.settings.data_dir),
        "lancedb": app.settings.lancedb_location,
        "database": _safe_url(app.settings.database_location),
        "indexed": app.index.exists(),
        "answer_backend": app.settings.answer_backend,
    }
    if app.settings.answer_backend not in known_backends():
        info["answer_backend_error"] = unknown_backend(app.settings.answer_backend)
    if app.index.exists():
        counts = app.index.doc_chunk_counts()
        info.update(
            documents=len(counts),
            chunks=sum(counts.values()),
            table_version=app.index.version,
            embed_model=app.index.embed_model,
        )
    last = run_state(app, app.store.index_runs.latest())  # a killed run shows as interrupted
    info["last_run"] = last
    # with [[sources]] the index is several sources: `askdesk sources` shows each one
    folder = app.docs_dir(docs) if docs is not None or not app.settings.sources else None
    if folder is not None and folder.is_dir() and app.index.exists():
        # files the last finished run of this folder skipped, unchanged since, stay skipped
        done = app.store.index_runs.last_finished(docs_root=str(folder.resolve()))
        diff = diff_folder(folder, app.index, known_skips=(done or {}).get("skipped") or ())
        info["docs_root"] = str(folder)
        info["changed_since_last_run"] = {
            "added": [f.doc_id for f in diff.added],
            "changed": [f.doc_id for f in diff.changed],
            "removed": diff.removed,
        }
        info["skipped"] = [{"path": s["path"], "reason": s["reason"]} for s in diff.skipped]
    elif folder is not None and not folder.is_dir():
        info["docs_root"] = str(folder)
        info["docs_root_missing"] = True
    info["interactions"] = app.store.counts()
    info["style"] = style_state(app)
    if app.settings.answer_backend == "llm":
        info["llm"] = _llm_server(app)

    return info


def _print_index(info: dict[str, Any]) -> None:
    """The index's size and its last run."""
    if not info["indexed"]:
        console.print("No index yet: run [bold]askdesk index DOCS_FOLDER[/bold].")
    else:
        console.print(
            f"Index: {info['documents']} documents, {info['chunks']} chunks, "
            f"table version {info['table_version']} ({info['embed_model']}) at {info['lancedb']}"
        )
    last = info["last_run"]
    if last and last["finished_at"] is None:  # still running, or killed (interrupted)
        console.print(
            f"Last run: started {last['started_at']:%Y-%m-%d %H:%M} UTC, {last['status']}"
            f"{': ' + last['error'] if last.get('error') else ''} on {last['docs_root']}",
            markup=False,
        )
    elif last:
        console.print(
            f"Last run: {last['finished_at']:%Y-%m-%d %H:%M} UTC, {last['status']}, "
            f"{last['duration_s']:.1f}s on {last['docs_root']}"
            + (f" ({last['error']})" if last["status"] == "partial" and last.get("error") else ""),
            markup=False,
        )


def _print_changes(info: dict[str, Any]) -> None:
    """What changed on disk since the last run, and the files the runs skip."""
    changes = info.get("changed_since_last_run")
    if changes is not None:
        n = sum(len(v) for v in changes.values())
        if n == 0:
            console.print("Docs on disk: up to date.")
        else:
            console.print(f"Docs on disk: {n} change(s) not indexed yet — run askdesk index")
            for kind, paths in changes.items():
                for p in paths[:10]:
                    console.print(f"  {kind:<8} {p}", markup=False)
    skipped = info.get("skipped") or []
    if skipped:
        console.print(f"Skipped {len(skipped)} file(s) (each index run skips them until fixed):")
        for item in skipped[:10]:
            console.print(f"  {item['path']}: {item['reason']}", markup=False)
    if info.get("docs_root_missing"):
        console.print(f"[yellow]Docs folder {info['docs_root']} is missing.[/yellow]")


def _fail_on_invalid(info: dict[str, Any]) -> None:
    """A configuration that cannot answer is an error, after everything else was shown:
    scripts and health checks see a non-zero exit."""
    if info.get("answer_backend_error"):
        what, _, hint = info["answer_backend_error"].partition(" (")
        raise UserError(what, hint.rstrip(")") or None)


def style_state(app: App) -> dict[str, Any]:
    """The active style version, whether answers use it, and its last evaluation: the
    newest `askdesk eval` run whose answers were written in that version's voice."""
    version = app.active_style_version()
    state: dict[str, Any] = {
        "active_version": version,
        "enabled": app.settings.style_enabled,
        "last_evaluation": None,
    }
    if version is None:
        return state
    names = {version, Path(version).name}  # a version given as a folder is recorded by name
    for run in app.store.styles.eval_runs(limit=200):
        if run.get("style_model_version") in names:
            metrics = run.get("metrics") or {}
            state["last_evaluation"] = {
                "eval_run_id": run["id"],
                "created_at": run["created_at"],
                "label": run.get("label"),
                **{k: metrics.get(k) for k in ("hit@5", "answer_f1", "groundedness", "tone")},
            }
            break
    return state


def _print_style(style: dict[str, Any]) -> None:
    version = style["active_version"]
    if version is None:
        console.print("Style: no style model (askdesk style use sample, or style train)")
        return
    use = "every answer" if style["enabled"] else "only with ask --style (style_enabled is off)"
    console.print(f"Style: {version} active, {use}", markup=False, soft_wrap=True)
    last = style["last_evaluation"]
    if last is None:
        console.print(
            f"  Last evaluation: none of {version}'s answers yet "
            "(askdesk eval GOLDEN with style on)",
            markup=False,
            soft_wrap=True,
        )
        return
    figures = ", ".join(
        f"{k} {last[k]:.2f}"
        for k in ("hit@5", "answer_f1", "groundedness", "tone")
        if isinstance(last.get(k), int | float)
    )
    console.print(
        f"  Last evaluation: eval run #{last['eval_run_id']}, "
        f"{last['created_at']:%Y-%m-%d %H:%M} UTC" + (f": {figures}" if figures else ""),
        markup=False,
        soft_wrap=True,
    )


def _print_backend(info: dict[str, Any]) -> None:
    b = info.get("llm")
    if b is not None:
        state_text = "answers" if b["reachable"] else "does not answer"
        console.print(
            f"Answers: llm {b['model']} at {b['base_url']} — server {state_text} ({b['detail']})",
            markup=False,
        )
        if not b["reachable"]:
            console.print("  Until it does, every answer falls back to the extractive composer.")
        return
    line = f"Answers: {info['answer_backend']}"
    if info["answer_backend"] == "extractive":
        line += " (quoted from the docs)"
    if info.get("answer_backend_error"):
        line += f" — {info['answer_backend_error']}"
    console.print(line, markup=False)


def _llm_server(app: App) -> dict[str, Any]:
    """For `answer_backend = "llm"`: whether its server answers `GET /models` (3 s). Never
    the API key."""
    s = app.settings
    composer = build_llm_composer(s.block(LLMSettings), fallback=ExtractiveComposer())
    reachable, detail = composer.ping(timeout_s=3.0)
    return {
        "base_url": _safe_url(s.llm_base_url),
        "model": s.llm_model,
        "reachable": reachable,
        "detail": detail,
    }


def _safe_url(url: str) -> str:
    return redact(url)
