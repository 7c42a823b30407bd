"""The HTTP API (issue 21, part 5): keys, per-key conversations, votes, limits, CORS, the
OpenAPI schema, and the embeddable chat page in headless Chromium. A real aiohttp server on
127.0.0.1:0 with the real desk (sample index, packaged embedder, SQLite); `requests` and
Playwright as the clients."""

from __future__ import annotations

import ast
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from http_client import ApiClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec

from askdesk.bots.http.app import HttpConfig
from askdesk.bots.http.build import http_server
from askdesk.bots.http.keys import KeyConfigError, KeyRing, digest, parse_keys
from askdesk.bots.http.openapi import schema
from askdesk.bots.http.run import HttpServer
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine
from askdesk.feedback.store import FeedbackStore

pytestmark = pytest.mark.timeout(600)

ALICE, BOB = "alice-secret-0123456789", "bob-secret-0123456789ab"
ROTATE = "How do I rotate my API key?"
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


class DocsSite:
    """A docs site on its own origin whose page includes the widget's <script>."""

    def __init__(self, root: Path) -> None:
        self.root = root
        handler = partial(_Quiet, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def page(self, name: str, api: str, key: str) -> str:
        (self.root / name).write_text(
            '<!doctype html><html><head><title>Tidewire docs</title><link rel="icon" href="data:,">'
            "</head><body>"
            "<h1>Tidewire docs</h1><p>Welcome.</p>"
            f'<script src="{api}/v1/chat.js" data-key="{key}" data-title="Ask Tidewire"'
            " defer></script></body></html>",
            encoding="utf-8",
        )
        return f"{self.origin}/{name}"

    def stop(self) -> None:
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory) -> Iterator[DocsSite]:
    site = DocsSite(tmp_path_factory.mktemp("site"))
    yield site
    site.stop()


@pytest.fixture(scope="module")
def served(
    tmp_path_factory, sample_searcher, docs_site
) -> Iterator[tuple[HttpServer, SupportDesk]]:
    db = tmp_path_factory.mktemp("api") / "api.db"
    store = FeedbackStore(f"sqlite:///{db}")
    engine = AnswerEngine(
        sample_searcher, ExtractiveComposer(), recorder=store.interactions, asker_salt="s"
    )
    desk = SupportDesk(engine, store, "s")
    keys = parse_keys([f"alice={ALICE}", f"bob=sha256:{digest(BOB).hex()}"])
    config = HttpConfig(cors_origins=(docs_site.origin,), max_body_bytes=4096, asks_per_minute=40)
    server = http_server(desk, keys, config=config).start()
    yield server, desk
    server.stop()


@pytest.fixture
def alice(served) -> ApiClient:
    return ApiClient(served[0].url, ALICE)


@pytest.fixture
def bob(served) -> ApiClient:
    return ApiClient(served[0].url, BOB)


def _validator(name: str) -> Draft202012Validator:
    """A validator for one of the schema's components (responses are checked against it)."""
    spec = schema()
    return Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    )


def test_the_schema_is_valid_openapi_served_and_routed(served):
    server, _ = served
    validate_spec(schema())
    status, served_schema, _ = ApiClient(server.url, None).call("GET", "/v1/openapi.json")
    assert status == 200 and served_schema == schema()
    routed = {
        r.resource.canonical for r in server.api.app().router.routes() if r.resource is not None
    }
    assert set(schema()["paths"]) == routed


def test_ask_then_a_follow_up_in_the_conversation(alice, served):
    status, first, _ = alice.ask(ROTATE, user="visitor-1")
    assert status == 200, first
    _validator("AskReply").validate(first)
    assert first["answered"] and "grace" in first["answer"].lower()
    assert first["sources"] and first["decision"]["answer"] is True
    assert isinstance(first["answer_id"], int) and first["conversation_id"]
    status, follow, _ = alice.ask(
        "how long does the old one keep working?", first["conversation_id"]
    )
    assert status == 200 and follow["conversation_id"] == first["conversation_id"]
    assert "24 hours" in follow["answer"]
    store = served[1].store
    a, b = store.interactions.get(first["answer_id"]), store.interactions.get(follow["answer_id"])
    assert a["platform"] == b["platform"] == "http" and a["thread"] == b["thread"]
    assert a["asker_hash"] and "visitor-1" not in a["asker_hash"]
    status, shown, _ = alice.call("GET", f"/v1/answers/{first['answer_id']}")
    assert status == 200 and shown["text"] == first["answer"]
    _validator("Answer").validate(shown)


def test_keys_are_required_and_conversations_belong_to_their_key(alice, bob, served):
    anonymous, wrong = ApiClient(served[0].url, None), ApiClient(served[0].url, "x" * 24)
    for client in (anonymous, wrong):
        status, body, r = client.ask(ROTATE)
        assert status == 401 and "API key" in body["error"]
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    status, first, _ = alice.ask(ROTATE)
    assert status == 200
    before = served[1].store.counts()["interactions"]
    theirs = bob.ask("and how do I revoke it?", first["conversation_id"])
    never = bob.ask("and how do I revoke it?", "0123456789abcdef0123456789abcdef")
    junk = bob.ask("and how do I revoke it?", "../../etc/passwd")
    for status, body, _ in (theirs, never, junk):
        assert (status, body) == (404, {"error": "conversation not found"})
    for status, body, _ in (
        bob.call("GET", f"/v1/answers/{first['answer_id']}"),
        bob.vote(first["answer_id"], vote="up"),
        bob.vote(99999, vote="up"),
    ):
        assert (status, body) == (404, {"error": "answer not found"})
    assert served[1].store.counts()["interactions"] == before  # nothing answered, nothing kept
    assert served[1].store.interactions.votes_for(first["answer_id"]) == []


def test_votes_up_down_reason_and_comment(alice, served):
    _, ans, _ = alice.ask(ROTATE)
    iid = ans["answer_id"]
    status, up, _ = alice.vote(iid, vote="up", user="v1")
    assert status == 200 and "thank" in up["message"].lower()
    _validator("VoteReply").validate(up)
    status, down, _ = alice.vote(iid, vote="down", user="v1")
    assert "what was wrong" in down["message"].lower()
    assert [r["code"] for r in down["reasons"]] == [
        "wrong_facts",
        "not_in_docs",
        "tone_format",
        "other",
    ]
    status, bad, _ = alice.vote(iid, vote="down", reason="meh", user="v1")
    assert status == 400 and "wrong_facts" in bad["error"]
    assert alice.vote(iid, vote="up", reason="wrong_facts")[0] == 400
    assert alice.vote(iid, vote="sideways")[0] == 400
    status, noted, _ = alice.vote(iid, vote="down", reason="not_in_docs", user="v1")
    assert "Not in the docs" in noted["message"]
    status, saved, _ = alice.vote(
        iid, vote="down", reason="not_in_docs", comment="Mention the CLI", user="v1"
    )
    assert status == 200 and "saved" in saved["message"].lower()
    alice.vote(iid, vote="up", user="v2")
    votes = sorted(served[1].store.interactions.votes_for(iid), key=lambda v: v["value"])
    assert [(v["value"], v["reason"], v["comment"]) for v in votes] == [
        (-1, "not_in_docs", "Mention the CLI"),
        (1, None, None),
    ]


def test_a_retried_submission_is_answered_once(alice, served):
    before = served[1].store.counts()["interactions"]
    one = alice.ask(ROTATE, idempotency_key="retry-me")
    two = alice.ask(ROTATE, idempotency_key="retry-me")
    assert one[0] == two[0] == 200 and one[1] == two[1]
    assert two[2].headers.get("Idempotent-Replayed") == "true"
    assert served[1].store.counts()["interactions"] == before + 1


def test_bad_input_gets_one_clear_line(alice, served):
    url = served[0].url
    assert alice.ask("   ")[0:2] == (400, {"error": '"question" must be a non-empty string'})
    r = alice.session.post(f"{url}/v1/ask", data=b"{not json", timeout=30)
    assert r.status_code == 400 and r.json() == {"error": "the body must be a JSON object"}
    big = alice.ask("x" * 5000)
    assert big[0] == 413 and "4096 bytes" in big[1]["error"]
    assert alice.ask(ROTATE, conversation_id=5)[0] == 400  # type: ignore[arg-type]
    thanks = alice.ask("thanks!")
    assert thanks[0] == 200 and thanks[1]["answer_id"] is None and not thanks[1]["answered"]


def test_the_rate_limit_is_per_key(sample_searcher, tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'r.db'}")
    desk = SupportDesk(
        AnswerEngine(sample_searcher, ExtractiveComposer(), recorder=store.interactions), store, "s"
    )
    keys = parse_keys([f"alice={ALICE}", f"bob={BOB}"])
    server = http_server(desk, keys, config=HttpConfig(asks_per_minute=2)).start()
    try:
        alice, bob = ApiClient(server.url, ALICE), ApiClient(server.url, BOB)
        assert [alice.ask("thanks")[0] for _ in range(2)] == [200, 200]
        status, body, r = alice.ask("thanks")
        assert status == 429 and "2 questions a minute" in body["error"]
        assert int(r.headers["Retry-After"]) >= 1
        assert bob.ask("thanks")[0] == 200  # another key's budget
    finally:
        server.stop()


def test_cors_only_for_named_origins(served, docs_site):
    url = served[0].url
    import requests

    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    ok = requests.options(
        f"{url}/v1/ask", headers={"Origin": docs_site.origin, **preflight}, timeout=30
    )
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == docs_site.origin
    assert "Authorization" in ok.headers["Access-Control-Allow-Headers"]
    evil = requests.options(
        f"{url}/v1/ask", headers={"Origin": "http://evil.example", **preflight}, timeout=30
    )
    assert evil.status_code == 403 and "Access-Control-Allow-Origin" not in evil.headers
    r = requests.post(
        f"{url}/v1/ask",
        json={"question": "ok"},
        headers={"Origin": "http://evil.example", "Authorization": f"Bearer {ALICE}"},
        timeout=30,
    )
    assert "Access-Control-Allow-Origin" not in r.headers


def test_health_and_key_configuration():
    with pytest.raises(KeyConfigError, match="shorter"):
        parse_keys(["docs=short"])
    with pytest.raises(KeyConfigError, match="twice"):
        parse_keys([f"a={ALICE}", f"a={BOB}"])
    with pytest.raises(KeyConfigError) as err:
        parse_keys(["no spaces allowed=" + ALICE])
    assert ALICE not in str(err.value)
    ring = KeyRing(parse_keys([f"a={ALICE}", f"b=sha256:{digest(BOB).hex()}"]))
    assert ring.find(ALICE).name == "a" and ring.find(BOB).name == "b"  # type: ignore[union-attr]
    assert ring.find("nope") is None and ring.find(None) is None


def test_the_http_surface_touches_no_slack_or_discord_code():
    root = Path(__file__).resolve().parent.parent / "bots" / "http"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                )
                platform = ("askdesk.bots.slack", "askdesk.bots.discord")
                assert not any(n.startswith(platform) for n in names), path


def test_the_chat_page_in_chromium(served, docs_site):
    from playwright.sync_api import expect, sync_playwright

    server, desk = served
    page_url = docs_site.page("index.html", server.url, ALICE)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROME_ARGS
        )
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.goto(page_url)
            page.get_by_role("button", name="Ask Tidewire").click()
            page.locator("#askdesk-chat input").fill(ROTATE)
            page.locator("#askdesk-chat input").press("Enter")
            answer = page.locator("#askdesk-chat .msg.a").first
            expect(answer).to_contain_text("grace", timeout=60_000)
            expect(answer.locator(".sources li").first).to_be_visible()
            # a follow-up continues the conversation
            page.locator("#askdesk-chat input").fill("how long does the old one keep working?")
            page.locator("#askdesk-chat input").press("Enter")
            expect(page.locator("#askdesk-chat .msg.a")).to_have_count(2, timeout=60_000)
            expect(page.locator("#askdesk-chat .msg.a").nth(1)).to_contain_text("24 hours")
            # 👎 → reason → comment
            answer.get_by_role("button", name="Not helpful").click()
            answer.locator("[data-reason=not_in_docs]").click()
            expect(answer.locator(".note")).to_contain_text("Not in the docs")
            answer.locator("textarea").fill("Say which plan")
            answer.locator(".send-comment").click()
            expect(answer.locator(".note")).to_contain_text("saved")
            assert errors == []
        finally:
            browser.close()
    rows = [
        desk.store.interactions.get(i) for i in range(1, desk.store.counts()["interactions"] + 1)
    ]
    mine = [
        r
        for r in rows
        if r["question"] in (ROTATE, "how long does the old one keep working?")
        and r["channel"] == "key:alice"
    ]
    assert len({r["thread"] for r in mine[-2:]}) == 1  # one conversation
    votes = desk.store.interactions.votes_for(mine[-2]["id"])
    assert [(v["value"], v["reason"], v["comment"]) for v in votes] == [
        (-1, "not_in_docs", "Say which plan")
    ]


def test_the_chat_page_on_another_site_is_refused(served, docs_site, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    other = DocsSite(tmp_path)  # another origin, not in cors_origins
    try:
        url = other.page("index.html", served[0].url, ALICE)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROME_ARGS
            )
            try:
                page = browser.new_page()
                page.goto(url)
                page.get_by_role("button", name="Ask Tidewire").click()
                page.locator("#askdesk-chat input").fill(ROTATE)
                page.locator("#askdesk-chat input").press("Enter")
                expect(page.locator("#askdesk-chat .msg.error")).to_be_visible(timeout=30_000)
                assert page.locator("#askdesk-chat .msg.a").count() == 0
            finally:
                browser.close()
    finally:
        other.stop()


def test_askdesk_serve_starts_answers_and_stops_on_sigterm(env, sample_index):
    """The CLI as an operator runs it: keys from the environment, a free port, health 503
    then 200, an answer, SIGTERM drains and exits 0."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    import requests

    environ = {
        **os.environ,
        "ASKDESK_LANCEDB_URI": str(sample_index[0].uri),
        "ASKDESK_HTTP_API_KEYS": f"docs={ALICE}",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "askdesk", "serve", "--port", "0"],
        env=environ,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        found, lines = None, []
        while found is None and len(lines) < 50:
            lines.append(proc.stderr.readline())
            found = re.search(r"on (http://127\.0\.0\.1:\d+)", lines[-1])
            assert lines[-1] or proc.poll() is None, lines
        assert found, lines
        url = found.group(1)
        deadline = time.monotonic() + 240
        while requests.get(f"{url}/v1/health", timeout=10).status_code != 200:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.5)
        status, body, _ = ApiClient(url, ALICE).ask(ROTATE)
        assert status == 200 and body["answered"], body
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
