"""The dashboard in a real browser: headless Debian chromium driving a real WSGI server over a
real SQLite store and, for the playground, the real answer engine over the sample index.

One browser per session and one server per module keep this to a few seconds per test; every
page fails its test if the browser logged a console error or an uncaught exception.
"""

from __future__ import annotations

import csv
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine
from askdesk.dashboard.app import create_app
from askdesk.dashboard.auth import AuthConfig
from askdesk.dashboard.decision import Thresholds
from askdesk.dashboard.jobs import JobRunner
from askdesk.dashboard.services import Services
from askdesk.feedback.analytics import Analytics
from askdesk.feedback.records import InteractionRecord
from askdesk.feedback.store import FeedbackStore

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
USER, PASSWORD = "alice", "correct horse battery staple"
TIMEOUT_MS = 20_000


def seed(store: FeedbackStore, now: datetime) -> dict[str, Any]:
    """40 answers this week (24 on Slack, 16 on Discord): 8 voted 👎 "wrong facts", 2
    unanswered, 3 simulated demo 👍 — a history whose verdict is REINDEX."""
    ids: dict[str, list[int]] = {"slack": [], "discord": [], "billing": [], "wrong": []}
    for i in range(40):
        platform, channel = ("slack", "C-support") if i < 24 else ("discord", "D-help")
        topic = "billing invoice" if i % 5 == 0 else "webhook retries"
        iid = store.interactions.record(
            InteractionRecord(
                platform=platform,
                channel=channel,
                question=f"Question {i} about {topic}?",
                answer=f"Answer {i}: see the docs on {topic}.",
                sources=[{"path": "billing/plans.md" if i % 5 == 0 else "guides/retries.md"}],
                unanswered=i in (3, 33),
                latency_ms=20.0 + i,
                tone_score=0.9 if platform == "slack" else None,
                # the Slack answers were rewritten in the voice: the tone chart reads only those
                style_used=platform == "slack",
                style_model_version="voice-2026-11-20" if platform == "slack" else None,
                created_at=now - timedelta(hours=2 + i * 3),
            )
        )
        ids[platform].append(iid)
        if i % 5 == 0:
            ids["billing"].append(iid)
        if i % 5 == 1:
            store.interactions.record_vote(iid, f"voter-{i}", -1, reason="wrong_facts")
            ids["wrong"].append(iid)
        if i in (2, 4, 6):
            store.interactions.record_vote(iid, f"demo-{i}", 1, source="demo")
    for days_ago, hit, f1, later in (
        (10, 0.8, 0.62, {}),  # scored before useful@0.5 and the declined share existed
        (1, 0.78, 0.6, {"useful@0.5": 0.7, "declined_rate_unanswerable": 0.25}),
    ):
        store.styles.record_eval_run(
            {
                "created_at": now - timedelta(days=days_ago),
                "golden_path": "golden.jsonl",
                "golden_hash": "g1",
                "questions": 2,
                "k": 5,
                "metrics": {
                    "hit@5": hit,
                    "mrr": 0.7,
                    "answer_f1": f1,
                    "groundedness": 0.9,
                    **later,
                },
            },
            [
                {
                    "position": 0,
                    "question": "How do refunds work?",
                    "answer": "Refunds...",
                    "answer_f1": 0.1,
                    "hit_rank": None,
                    "sources": [{"path": "billing/plans.md"}],
                },
                {
                    "position": 1,
                    "question": "How do I rotate a key?",
                    "answer": "Open Settings",
                    "answer_f1": 0.9,
                    "hit_rank": 1,
                },
            ],
        )
    store.styles.record_train_run(
        {
            "version": "voice-2026-11-20",
            "mode": "lora",
            "base_model": "SmolLM2-135M",
            "train_examples": 120,
            "eval_examples": 12,
            "steps": 300,
            "duration_s": 60.0,
        },
        "/tmp/style/voice-2026-11-20",
    )
    return ids


class Toggle:
    """Index freshness that can be made to fail on demand (the error-banner test)."""

    def __init__(self) -> None:
        self.broken = False

    def __call__(self) -> dict[str, Any]:
        if self.broken:
            raise RuntimeError("docs folder unreadable\nsecond line that must not show")
        return {"docs_changed": 0, "added": [], "changed": [], "removed": [], "chunks": 12}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory, sample_searcher, embedder) -> Iterator[dict[str, Any]]:
    from werkzeug.serving import make_server

    store = FeedbackStore(f"sqlite:///{tmp_path_factory.mktemp('dash') / 'askdesk.db'}")
    ids = seed(store, datetime.now(UTC))
    engine = AnswerEngine(
        sample_searcher, ExtractiveComposer(), recorder=store.interactions, asker_salt="s"
    )
    desk = SupportDesk(engine, store, "s")
    release = threading.Event()

    def slow_reindex(progress: Any) -> dict[str, Any]:
        progress(0.5, "embedding 3 changed documents")
        assert release.wait(30), "the test never released the job"
        return {"message": "3 documents reindexed"}

    journal = store.jobs
    freshness = Toggle()

    def clusters(items: Any) -> list[dict[str, Any]]:
        from askdesk.core.gaps import cluster_questions

        return cluster_questions(items, embedder.encode)

    services = Services(
        store=store,
        analytics=Analytics(store.engine),
        thresholds=Thresholds(),
        jobs=JobRunner(journal, {"reindex": slow_reindex}),
        desk=desk,
        freshness=freshness,
        cluster_questions=clusters,
        auth=AuthConfig(USER, PASSWORD),
    )
    app = create_app(services)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {
        "url": f"http://127.0.0.1:{server.server_port}/",
        "store": store,
        "desk": desk,
        "ids": ids,
        "journal": journal,
        "release": release,
        "freshness": freshness,
    }
    release.set()
    server.shutdown()
    thread.join(5)
    store.close()


@pytest.fixture(scope="module")
def browser():
    """Module-scoped on purpose: Playwright's sync API keeps an asyncio loop running in the
    main thread while it is open, and later modules (the Discord bot tests) start their own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, dashboard):
    context = browser.new_context(
        http_credentials={"username": USER, "password": PASSWORD}, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    p = context.new_page()
    errors: list[str] = []
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    p.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    p.goto(dashboard["url"])
    p.wait_for_selector("#rec-verdict:not(:empty)")
    yield p
    context.close()
    assert errors == [], errors


def _plot_y(page, graph_id: str) -> list[list[Any]]:
    return page.evaluate(
        f"document.querySelector('#{graph_id} .js-plotly-plot').data.map(t => t.y)"
    )


def _tab(page, label: str) -> None:
    page.locator("#tabs .tab", has_text=label).click()


def _pick(page, dropdown_id: str, option: str) -> None:
    page.click(f"#{dropdown_id}")
    page.get_by_role("option", name=option).click()
    page.keyboard.press("Escape")


def test_overview_verdict_demo_label_and_platform_filter(page, dashboard):
    assert page.inner_text("#rec-verdict") == "REINDEX"
    assert "20.0% of answers got 👎 not helpful votes for wrong facts" in page.inner_text(
        "#rec-summary"
    )
    fired = page.locator("tr.fired")
    assert fired.count() == 1 and "wrong facts" in fired.inner_text()
    page.wait_for_function("document.querySelector('#ov-total-answers').innerText === '40'")
    assert "includes 3 simulated demo votes" in page.inner_text("#ov-demo")
    all_days = _plot_y(page, "ov-answers")[0]
    assert sum(all_days) == 40

    _pick(page, "f-platforms", "discord")
    page.wait_for_function("document.querySelector('#ov-total-answers').innerText === '16'")
    page.wait_for_function(
        "document.querySelector('#ov-answers .js-plotly-plot').data[0].y"
        ".reduce((a, b) => a + b, 0) === 16"
    )
    assert _plot_y(page, "ov-answers")[0] != all_days
    assert page.inner_text("#ov-demo") == ""  # the demo votes were all on Slack


def test_rule_evidence_opens_history_filtered_to_those_interactions(page, dashboard):
    link = page.locator("tr.fired a")
    assert link.inner_text() == "8 interaction(s)"
    link.click()
    page.wait_for_selector("#hist-scope:has-text('from a rule')")
    assert page.inner_text("#hist-scope").startswith("8 interaction(s)")
    shown = page.locator("#hist-table td[data-dash-column='id']").all_inner_texts()
    assert sorted(int(s) for s in shown) == sorted(dashboard["ids"]["wrong"])


def test_history_search_exports_the_filtered_rows_and_curates(page, dashboard):
    _tab(page, "Query history")
    page.fill("#hist-search", "billing")
    page.press("#hist-search", "Enter")
    page.wait_for_selector("#hist-scope:has-text('8 interaction(s)')")
    with page.expect_download() as info:
        page.click("#hist-export")
    download = info.value
    assert download.suggested_filename == "askdesk-interactions.csv"
    with open(download.path(), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(int(r["id"]) for r in rows) == sorted(dashboard["ids"]["billing"])
    assert all("billing" in r["question"] for r in rows)

    first = page.locator("#hist-table td[data-dash-column='id']").first.inner_text()
    page.locator("#hist-table input[type='radio']").first.check()
    page.wait_for_function("document.querySelector('#hist-edit').value.startsWith('Answer')")
    page.fill("#hist-edit", "Corrected: invoices are under Billing → Invoices.")
    page.click("#hist-curate")
    page.wait_for_selector("#hist-curated:has-text('Curated')")
    (example,) = [
        e for e in dashboard["store"].styles.curated_examples() if e["interaction_id"] == int(first)
    ]
    assert example["origin"] == "edited" and example["curated_by"] == USER
    assert example["output"].startswith("Corrected: invoices")


def test_playground_answers_from_the_docs_and_records_the_vote(page, dashboard):
    _tab(page, "Playground")
    page.fill("#pg-question", "How do I rotate my API key?")
    page.click("#pg-ask")
    meta = page.wait_for_selector("#pg-meta:has-text('interaction #')").inner_text()
    interaction_id = int(re.search(r"interaction #(\d+)", meta).group(1))
    answer = page.inner_text("#pg-answer-text")
    assert "rotate" in answer.lower() and "[1]" in answer  # citations shown as written
    assert page.locator("#pg-sources li").count() >= 1

    _pick(page, "pg-reason", "Tone or format")
    page.click("#pg-down")
    page.wait_for_selector("#pg-vote-status:has-text('Recorded 👎')")
    store, desk = dashboard["store"], dashboard["desk"]
    row = store.interactions.get(interaction_id)
    assert row["platform"] == "web" and row["asker_hash"] == desk.user_hash("web", USER)
    (vote,) = store.interactions.votes_for(interaction_id)
    assert (vote["value"], vote["reason"]) == (-1, "tone_format")
    assert vote["voter_hash"] == desk.user_hash("web", USER)


def test_reindex_runs_in_the_background_once_and_records_who(page, dashboard):
    page.click("#job-reindex")
    page.wait_for_selector("#job-message:has-text('reindex started')")
    page.wait_for_selector("#job-reindex-line:has-text('running 50%')")
    page.click("#job-reindex")
    page.wait_for_selector("#job-message:has-text('already running')")
    dashboard["release"].set()
    page.wait_for_selector("#job-reindex-line:has-text('reindex: ok')")
    (job,) = dashboard["journal"].latest("reindex")
    assert job["started_by"] == USER and job["status"] == "ok"
    assert job["result"] == {"message": "3 documents reindexed"}


def test_accuracy_tone_gaps_and_freshness_tabs_show_the_store(page, dashboard):
    _tab(page, "Factual accuracy")
    page.wait_for_selector("#acc-worst td:has-text('How do refunds work?')")
    names = page.evaluate(
        "document.querySelector('#acc-trend .js-plotly-plot').data.map(t => t.name)"
    )
    assert names == [
        "hit@5",
        "MRR",
        "answer F1",
        "groundedness",
        "useful@0.5",
        "declined (unanswerable)",
    ]
    y = _plot_y(page, "acc-trend")
    assert y[0] == [0.8, 0.78] and y[4] == [None, 0.7] and y[5] == [None, 0.25]
    worst = page.locator("#acc-worst td[data-dash-column='question']").all_inner_texts()
    assert worst == ["How do refunds work?", "How do I rotate a key?"]
    page.wait_for_selector("#acc-sources td:has-text('guides/retries.md')")

    _tab(page, "Tone")
    page.wait_for_selector("#tone-model-version:has-text('voice-2026-11-20')")
    traces = page.evaluate(
        "document.querySelector('#tone-trend .js-plotly-plot').data.map(t => [t.name, t.y])"
    )
    assert [name for name, _ in traces] == ["C-support", "target 0.80"]
    assert set(traces[0][1]) == {0.9}

    _tab(page, "Gaps")
    row = page.wait_for_selector("#gaps-table tr.gap")
    assert "webhook retries" in row.inner_text()
    assert page.locator("#gaps-table tr.gap td").nth(1).inner_text() == "2"

    _tab(page, "Index freshness")
    page.wait_for_selector("#fresh-changed:has-text('0')")
    assert "The index matches the documents on disk." in page.inner_text("#fresh-body")


def test_a_failing_callback_shows_one_line_not_a_trace(page, dashboard):
    dashboard["freshness"].broken = True
    try:
        _tab(page, "Index freshness")
        banner = page.wait_for_selector("#error-banner:has-text('Something went wrong')")
        text = banner.inner_text()
    finally:
        dashboard["freshness"].broken = False
    assert text == "Something went wrong: RuntimeError: docs folder unreadable"
    assert "Traceback" not in page.content()
