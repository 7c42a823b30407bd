"""The dashboard on the demo's data, in headless Debian chromium, with and without an emoji font.

The data is what `askdesk demo` writes, built the way the demo builds it: the sample docs'
real index run, a real eval run of the golden set, the golden and gap questions answered by
the real engine with labelled demo votes, the bundled style version's training run, then the
simulated weeks (askdesk.demo_history) copied from those answers. One server serves it all.

Every time chart must tick in calendar days ("Nov 16", never "23:42:17.968") and hold data,
the simulated span must be labelled (banner and chart shading), and every 👍/👎 column, legend
and stat label must also say it in words. The same checks run a second time in a chromium
whose fontconfig rejects Noto Color Emoji (FONTCONFIG_FILE), where the glyphs are boxes: the
words are what the reader has left. Screenshots of both runs land in the test's tmp folder.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine
from askdesk.core.evaluation import evaluate, load_golden
from askdesk.core.freshness import index_freshness
from askdesk.dashboard.app import create_app
from askdesk.dashboard.auth import AuthConfig
from askdesk.dashboard.decision import Thresholds
from askdesk.dashboard.jobs import JobRunner
from askdesk.dashboard.services import Services
from askdesk.demo import sample_dir, seed_history, seed_traffic
from askdesk.feedback.analytics import Analytics
from askdesk.feedback.records import IndexRunRecord
from askdesk.feedback.store import FeedbackStore
from tests.test_dashboard_browser import CHROMIUM, CHROMIUM_FLAGS, PASSWORD, TIMEOUT_MS, USER

# the module fixture answers ~90 questions for real: on a loaded 2-core machine that outlasts
# the default 600 s per test (which counts fixture setup)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

DATE_TICK = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{2}$")
#: (tab label, chart ids) of every time chart
TIME_CHARTS = (
    ("Overview", ("ov-answers", "ov-votes", "ov-reasons", "ov-unanswered", "ov-latency")),
    ("Factual accuracy", ("acc-trend",)),
    ("Tone", ("tone-trend",)),
    ("Index freshness", ("fresh-runs",)),
)
NO_EMOJI_FONTS = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <selectfont>
    <rejectfont>
      <glob>*NotoColorEmoji*</glob>
      <pattern><patelt name="family"><string>Noto Color Emoji</string></patelt></pattern>
    </rejectfont>
  </selectfont>
</fontconfig>
"""
# True when a 👍 drawn in black on a canvas comes out in colour: an emoji font drew it
EMOJI_IN_COLOUR = """() => {
  const c = document.createElement('canvas'); c.width = 64; c.height = 64;
  const g = c.getContext('2d'); g.fillStyle = '#000'; g.font = '48px sans-serif';
  g.textBaseline = 'top'; g.fillText('\\u{1F44D}', 4, 4);
  const px = g.getImageData(0, 0, 64, 64).data;
  for (let i = 0; i < px.length; i += 4) {
    if (px[i + 3] > 0 && (Math.abs(px[i] - px[i + 1]) > 40 || Math.abs(px[i + 1] - px[i + 2]) > 40))
      return true;
  }
  return false;
}"""


@pytest.fixture(scope="module")
def demo_dashboard(tmp_path_factory, sample_index, sample_searcher) -> Iterator[dict[str, Any]]:
    from werkzeug.serving import make_server

    index, docs, index_report = sample_index
    store = FeedbackStore(f"sqlite:///{tmp_path_factory.mktemp('story') / 'askdesk.db'}")
    fields = index_report.as_dict()
    for key in ("ignored", "passages_embedded", "kind", "notes"):  # report-only figures
        fields.pop(key, None)
    store.index_runs.record(IndexRunRecord(**fields))
    golden = sample_dir() / "golden.jsonl"
    report = evaluate(AnswerEngine(sample_searcher, ExtractiveComposer()), load_golden(golden))
    record = report.run_record(golden, index_version=index_report.table_version, label="demo")
    run_id = store.styles.record_eval_run(record, report.result_records())
    engine = AnswerEngine(
        sample_searcher, ExtractiveComposer(), recorder=store.interactions, asker_salt="s"
    )
    desk = SupportDesk(engine, store, "s")
    seed_traffic(desk, golden)
    bundled = json.loads((sample_dir() / "style" / "model" / "report.json").read_text())
    store.styles.record_train_run({**bundled, "version": "sample-v1"}, "style/sample-v1")
    story = seed_history(store, run_id, "sample-v1")

    services = Services(
        store=store,
        analytics=Analytics(store.engine),
        thresholds=Thresholds(),
        jobs=JobRunner(store.jobs, {}),
        desk=desk,
        freshness=lambda: index_freshness(docs, index, store.index_runs.last_finished(status="ok")),
        auth=AuthConfig(USER, PASSWORD),
        style_version=lambda: "sample-v1",
    )
    server = make_server("127.0.0.1", 0, create_app(services).server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/", "story": story, "store": store}
    server.shutdown()
    thread.join(5)
    store.close()


@pytest.fixture(scope="module", params=["emoji font", "no emoji font"])
def browser(request, tmp_path_factory):
    """One chromium per font setup (module-scoped: see tests/test_dashboard_browser.py)."""
    from playwright.sync_api import sync_playwright

    env = None
    if request.param == "no emoji font":
        conf = tmp_path_factory.mktemp("fonts") / "fonts.conf"
        conf.write_text(NO_EMOJI_FONTS)
        env = {"FONTCONFIG_FILE": str(conf), "HOME": str(conf.parent)}
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS, env=env
        )
        yield request.param, b
        b.close()


@pytest.fixture
def page(browser, demo_dashboard):
    _, b = browser
    context = b.new_context(
        http_credentials={"username": USER, "password": PASSWORD},
        viewport={"width": 1400, "height": 1000},
    )
    context.set_default_timeout(TIMEOUT_MS)
    p = context.new_page()
    errors: list[str] = []
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    p.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    p.goto(demo_dashboard["url"])
    p.wait_for_selector("#rec-verdict:not(:empty)")
    yield p
    context.close()
    assert errors == [], errors


def _tab(page, label: str) -> None:
    page.locator("#tabs .tab", has_text=label).click()


def _chart(page, chart_id: str) -> dict[str, Any]:
    """A drawn chart's x tick labels, legend entries, annotations and traces' y values."""
    page.wait_for_selector(f"#{chart_id} .xtick text")
    page.wait_for_function(f"document.querySelector('#{chart_id} .js-plotly-plot').data.length > 0")
    return page.evaluate(
        f"""() => {{
          const el = document.querySelector('#{chart_id}');
          const texts = sel => [...el.querySelectorAll(sel)].map(t => t.textContent);
          return {{
            ticks: texts('.xtick text'),
            legend: texts('.legendtext'),
            notes: texts('.annotation-text'),
            title: texts('.gtitle'),
            y: el.querySelector('.js-plotly-plot').data.map(t => t.y),
          }};
        }}"""
    )


def test_the_fonts_are_what_each_run_says(page, browser):
    name, _ = browser
    assert page.evaluate(EMOJI_IN_COLOUR) is (name == "emoji font")


def test_every_time_chart_reads_in_dates_holds_data_and_labels_the_simulated_span(
    page, browser, demo_dashboard, tmp_path
):
    story = demo_dashboard["story"]
    banner = page.wait_for_selector("#simulated-banner:has-text('Simulated data')").inner_text()
    assert f"{story.start.date()} to {story.end.date()}" in banner
    assert f"{story.answers} answers" in banner
    for tab, charts in TIME_CHARTS:
        _tab(page, tab)
        for chart_id in charts:
            drawn = _chart(page, chart_id)
            assert len(drawn["ticks"]) >= 3, (chart_id, drawn["ticks"])
            assert all(DATE_TICK.match(t) for t in drawn["ticks"]), (chart_id, drawn["ticks"])
            values = [v for ys in drawn["y"] for v in ys if v is not None]
            assert len(values) >= 5 and any(values), (chart_id, drawn["y"])
            assert "simulated (demo)" in drawn["notes"], chart_id
        page.screenshot(path=tmp_path / f"{tab}.png", full_page=True)

    _tab(page, "Factual accuracy")
    assert "reindex" in _chart(page, "acc-trend")["notes"]
    _tab(page, "Tone")
    assert "style sample-v1" in _chart(page, "tone-trend")["notes"]
    page.wait_for_selector("#tone-model-version:has-text('sample-v1')")
    assert "(simulated)" in page.inner_text("#tone-model-eval")
    assert page.locator("#tone-versions td", has_text="sample-v0").count() == 1
    print(f"screenshots ({browser[0]}): {tmp_path}")


def test_every_thumb_column_and_legend_also_says_it_in_words(page):
    assert "helpful rate (of votes)" in page.inner_text("#ov-stats")
    votes = _chart(page, "ov-votes")  # one trace: Plotly shows no legend, the title says it
    assert votes["title"] == ["👍 helpful rate (share of votes)"]
    reasons = _chart(page, "ov-reasons")
    assert sorted(reasons["legend"]) == [  # a stacked chart lists its legend top down
        "👎 not helpful: not in docs",
        "👎 not helpful: other",
        "👎 not helpful: tone / format",
        "👎 not helpful: wrong facts",
    ]
    assert page.locator("table.rules", has_text="👎 not helpful: tone / format").count() == 1

    _tab(page, "Query history")
    page.wait_for_selector("#hist-table td[data-dash-column='id']")
    headers = page.locator("#hist-table th").all_inner_texts()
    assert {"👍 helpful", "👎 not helpful", "👎 not helpful: reasons"} <= {
        h.strip() for h in headers
    }
    # today's real answers fill the first pages (newest first); the simulated ones follow
    assert page.locator("#hist-table td", has_text="(simulated)").count() == 0
    for _ in range(3):
        page.locator("#hist-table button.next-page").click()
    page.wait_for_selector("#hist-table td[data-dash-column='created_at']:has-text('(simulated)')")

    _tab(page, "Factual accuracy")
    page.wait_for_selector("#acc-sources th:has-text('of them 👎 not helpful')")


def test_screenshots_are_kept_for_a_look(page, browser, tmp_path):
    """Not an assertion on pixels: a person looks at these (the no-emoji run shows boxes
    beside the words)."""
    shot = Path(tmp_path) / f"overview-{browser[0].replace(' ', '-')}.png"
    page.wait_for_selector("#ov-reasons .legendtext")
    page.screenshot(path=shot, full_page=True)
    assert shot.stat().st_size > 10_000
