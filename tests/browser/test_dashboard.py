"""The dashboard and the widget in a real browser (headless Chromium from Debian, driven by
Playwright) against the real local runner: sign in, create a bot, add and ingest a text source, and
"Try it" streams a cited answer; the widget embedded on a page of another origin answers with a
publishable key allowed there and shows its error state otherwise; a member sees no Users page."""

from __future__ import annotations

import functools
import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.dashboard_flows import OWNER, add_and_ingest_text, create_bot, ingested_bot, publishable_key, sign_in
from tests.runner_process import bootstrap_tenant, free_port, start_local_runner, stop

pytestmark = pytest.mark.browser

FACT = "The Zorblax 9 warranty lasts 37 months from the day of delivery."
QUESTION = "How long does the Zorblax 9 warranty last?"


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """One local runner for the module (it starts in seconds, the tests share it): its URL and
    the owner's headers of tenant Acme."""
    saved = os.environ.get("URL_FETCH_ALLOW_PRIVATE")
    os.environ["URL_FETCH_ALLOW_PRIVATE"] = "true"  # the webhook receiver below is on 127.0.0.1
    try:
        process, api = start_local_runner(tmp_path_factory.mktemp("runner"))
    finally:
        if saved is None:
            os.environ.pop("URL_FETCH_ALLOW_PRIVATE")
        else:
            os.environ["URL_FETCH_ALLOW_PRIVATE"] = saved
    try:
        yield api, bootstrap_tenant(api)
    finally:
        stop(process)


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain static web server on a second 127.0.0.1 port: another origin than the API's."""
    port = free_port()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


def test_sign_in_create_a_bot_ingest_a_source_and_try_it_streams_a_cited_answer(runner, new_page):
    api, _ = runner
    page = new_page()
    # Given an owner signed in to the dashboard
    sign_in(page, api, *OWNER)

    # When they create a bot, add a text source with a planted fact and ingest it
    create_bot(page, "Support")
    add_and_ingest_text(page, "Warranty", FACT)  # waits for "ready" on screen

    # And ask it in "Try it"
    page.go_back()
    expect(page.get_by_role("heading", name="Try it")).to_be_visible()
    page.get_by_label("Your question").fill(QUESTION)
    with page.expect_response(lambda r: r.url.endswith("/v1/chat") and r.request.method == "POST") as answered:
        page.get_by_role("button", name="Send").click()

    # Then the answer came as Server-Sent Events and shows the fact with a numbered citation
    assert answered.value.headers["content-type"].startswith("text/event-stream")
    answer = page.locator(".msg.assistant[data-state=done]")
    expect(answer).to_contain_text("37 months")
    citation = answer.get_by_role("button", name="citation 1")
    expect(citation).to_be_visible()
    # And the citation opens its snippet (source, document, text)
    citation.click()
    opened = answer.locator(".citations li.open")
    expect(opened).to_contain_text("Zorblax 9 warranty lasts 37 months")
    expect(opened).to_contain_text("document")
    expect(opened).to_be_focused()

    # And the bot's page shows the widget snippet with a new publishable key
    page.get_by_label("Allowed origins (comma separated)").fill("https://shop.example.com")
    page.get_by_role("button", name="Create a publishable key and show the snippet").click()
    snippet = page.get_by_label("Widget snippet")
    expect(snippet).to_contain_text("/widget/minirag-widget.js")
    expect(snippet).to_contain_text('data-api-key="mrg_')


def _host_page(folder: Path, name: str, api: str, bot_id: str, key: str, api_url: str | None = None) -> str:
    # A host page whose CSS tries to restyle everything (the widget's Shadow DOM keeps it out)
    (folder / name).write_text(f"""<!doctype html><html><head><title>Shop</title>
<style>* {{ color: rgb(255, 0, 0) !important; font-size: 40px !important; }}
button {{ display: none !important; }}</style>
</head><body><h1>Our shop</h1>
<script src="{api}/widget/minirag-widget.js" data-bot-id="{bot_id}" data-api-url="{api_url or api}"
        data-api-key="{key}" data-title="Shop help" data-color="#0f766e" data-open="true"></script>
</body></html>""")
    return name


def test_widget_on_another_origin_answers_with_an_allowed_key_and_shows_an_error_otherwise(
        runner, other_origin, new_page):
    api, auth = runner
    origin, folder = other_origin
    bot_id = ingested_bot(api, auth, "Shop bot", FACT)
    allowed = publishable_key(api, auth, bot_id, [origin])
    elsewhere = publishable_key(api, auth, bot_id, ["https://somewhere-else.example"])
    good = _host_page(folder, "good.html", api, bot_id, allowed)
    bad = _host_page(folder, "bad.html", api, bot_id, elsewhere)
    page = new_page()

    # When a page on another origin embeds the widget with a key allowed there, and asks
    page.goto(f"{origin}/{good}")
    widget = page.locator("[data-minirag-widget]")
    expect(widget.get_by_role("button", name="Shop help")).to_be_visible()  # the page's CSS hides no widget button
    widget.get_by_label("Your question").fill(QUESTION)
    widget.get_by_role("button", name="Send").click()

    # Then a streamed answer with the fact and its citation appears in the widget
    expect(widget).to_have_attribute("data-state", "answered", timeout=30_000)
    answer = widget.locator(".msg.assistant").last
    expect(answer).to_contain_text("37 months")
    expect(answer.get_by_role("button", name="source 1")).to_be_visible()
    # And the widget kept its own look (theme colour) despite the page's CSS
    assert widget.get_by_role("button", name="Shop help").evaluate("b => getComputedStyle(b).backgroundColor") == \
        "rgb(15, 118, 110)"
    # And after a reload the conversation is still there (its chat id and messages in storage)
    page.reload()
    expect(page.locator("[data-minirag-widget] .msg.assistant")).to_contain_text("37 months")

    # When a new visitor opens the same page with a key allowed only on another origin
    page = new_page()
    page.goto(f"{origin}/{bad}")
    widget = page.locator("[data-minirag-widget]")
    widget.get_by_label("Your question").fill(QUESTION)
    widget.get_by_role("button", name="Send").click()
    # Then the widget shows its error state, and no answer
    expect(widget).to_have_attribute("data-state", "error")
    expect(widget.get_by_role("alert")).to_contain_text("unreachable")
    expect(widget.locator(".msg.assistant")).to_have_count(0)
    expect(widget.locator(".msg.user")).to_have_count(1)

    # And an API that cannot be reached at all gives the same error state
    down = _host_page(folder, "down.html", api, bot_id, allowed, api_url=f"http://127.0.0.1:{free_port()}")
    page = new_page()
    page.goto(f"{origin}/{down}")
    widget = page.locator("[data-minirag-widget]")
    widget.get_by_label("Your question").fill(QUESTION)
    widget.get_by_role("button", name="Send").click()
    expect(widget).to_have_attribute("data-state", "error")
    expect(widget.get_by_role("alert")).to_contain_text("unreachable")


def test_a_page_still_loading_when_the_user_moves_on_does_not_leak_into_the_next(runner, new_page):
    api, auth = runner
    # Given a member whose overview page waits on a slow health check
    httpx.post(f"{api}/v1/users", headers=auth, timeout=30, json={
        "email": "slow@acme.example", "password": "member horse battery", "role": "member"}).raise_for_status()
    page = new_page()
    held = []
    page.route("**/v1/system/health", lambda route: held.append(route))
    sign_in(page, api, "slow@acme.example", "member horse battery")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the overview never asked for the health report"

    # When they move to another page before it answers, and then it answers
    page.goto(f"{api}/dashboard#/users")
    expect(page.get_by_role("alert")).to_contain_text("not available to your role (member)")
    with page.expect_response("**/v1/system/health"):
        held[0].continue_()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(200)  # the overview's rendering after its last response

    # Then the page they are on shows only its own content
    expect(page.get_by_role("heading", name="Health")).to_have_count(0)
    expect(page.get_by_role("table")).to_have_count(0)
    expect(page.locator("main h1")).to_have_text("Users")


def test_a_member_cannot_see_the_users_page_and_an_owner_can(runner, new_page):
    api, auth = runner
    # Given a member of the tenant
    httpx.post(f"{api}/v1/users", headers=auth, timeout=30, json={
        "email": "m@acme.example", "password": "member horse battery", "role": "member"}).raise_for_status()

    # When the member signs in (on a phone-sized screen)
    page = new_page(width=360, height=740)
    sign_in(page, api, "m@acme.example", "member horse battery")
    nav = page.get_by_role("navigation")
    # Then there is no Users link, and the page itself says it is not available
    expect(nav.get_by_role("link", name="Bots")).to_be_visible()
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    page.goto(f"{api}/dashboard#/users")
    expect(page.get_by_role("alert")).to_contain_text("not available to your role (member)")
    expect(page.get_by_role("table")).to_have_count(0)
    # And every page fits a 360 px screen (no horizontal scrolling of the page; wide tables scroll
    # inside their own box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for name in ("overview", "bots", "sources", "chats", "usage", "tokens", "settings"):
        page.goto(f"{api}/dashboard#/{name}")
        expect(page.locator("main h1")).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, name

    # When the owner signs in
    owner = new_page()
    sign_in(owner, api, *OWNER)
    owner.get_by_role("navigation").get_by_role("link", name="Users").click()
    # Then they see the team, the member included, and may change roles
    expect(owner.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(owner.get_by_role("cell", name="m@acme.example")).to_be_visible()
    expect(owner.get_by_label("role of m@acme.example")).to_have_value("member")


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        self.received.append(self.rfile.read(int(self.headers.get("content-length") or 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, list[bytes]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver.received
    finally:
        server.shutdown()
        server.server_close()


def test_every_page_works_for_an_owner_chats_usage_tokens_webhooks_and_settings(runner, new_page, webhook_receiver):
    api, auth = runner
    # Given a bot that answered one question through the API
    bot_id = ingested_bot(api, auth, "Pages bot", FACT)
    asked = httpx.post(f"{api}/v1/chat", headers=auth, timeout=60,
                       json={"bot_profile_id": bot_id, "message": QUESTION})
    assert asked.status_code == 200, asked.text
    page = new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    sign_in(page, api, *OWNER)

    # Overview: each component's health and the counts
    expect(page.get_by_role("cell", name="database")).to_be_visible()
    expect(page.locator("dl.counts")).to_contain_text("chats")

    # Chats: the conversation is listed and found by search; its transcript has the citation
    page.get_by_role("navigation").get_by_role("link", name="Chats").click()
    page.get_by_label("Search").fill("pages bot")
    page.get_by_role("row").filter(has_text="Pages bot").get_by_role("link").click()
    assistant = page.locator(".msg.assistant")
    expect(assistant).to_contain_text("37 months")
    expect(assistant.locator(".citations")).to_contain_text("Zorblax 9 warranty")
    # And feedback given there is stored (shown from the API's answer)
    assistant.get_by_role("button", name="Good answer").click()
    expect(assistant).to_contain_text("rated positive")
    with page.expect_download() as exported:
        page.get_by_role("link", name="Export CSV").click()
    assert "37 months" in Path(exported.value.path()).read_text()

    # Usage: the three daily charts are drawn by the vendored chart library, and tokens per model
    page.get_by_role("navigation").get_by_role("link", name="Usage").click()
    expect(page.locator("figure.chart canvas")).to_have_count(3)
    expect(page.get_by_role("figure", name="Tokens per model")).to_contain_text("local/extractive")

    # API tokens: created with a scope, shown once, listed, revoked
    page.get_by_role("navigation").get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("ci token")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("code.secret")).to_contain_text("mrg_")
    row = page.get_by_role("row").filter(has_text="ci token")
    expect(row).to_contain_text("read")
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("row").filter(has_text="ci token")).to_contain_text("revoked")
    expect(page.get_by_role("row").filter(has_text="ci token").get_by_role("button", name="Revoke")).to_have_count(0)

    # Webhooks: created (secret shown once), a test ping queued, its delivery log opens
    page.get_by_role("navigation").get_by_role("link", name="Webhooks").click()
    hook_url, received = webhook_receiver
    page.get_by_label("URL").fill(hook_url)
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_text("Signing secret (shown once)")).to_be_visible()
    hook = page.get_by_role("row").filter(has_text=hook_url)
    hook.get_by_role("button", name="Send test ping").click()
    expect(page.get_by_role("status")).to_contain_text("Test ping queued")
    hook.get_by_role("link", name="Delivery log").click()
    expect(page.get_by_role("heading", name="Delivery log")).to_be_visible()
    deadline = time.monotonic() + 20  # delivered by the runner's webhook worker; the log is read on load
    while not page.get_by_role("cell", name="ok 204").count() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    expect(page.get_by_role("cell", name="ok 204")).to_be_visible()
    assert received and b"ping" in received[-1]

    # Settings: the tenant and its limits with what is used
    page.get_by_role("navigation").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Quotas and limits in use")).to_be_visible()
    assert page.get_by_role("row").count() > 2
    assert script_errors == []
