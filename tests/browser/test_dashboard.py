"""The dashboard and the widget in a real browser (headless Chromium from Debian, driven by
Playwright) against the real local runner: sign in, create a bot, add and ingest a text source, and
"Try it" streams a cited answer; the widget embedded on a page of another origin answers with a
publishable key allowed there and shows its error state otherwise; a member sees no Users page."""

from __future__ import annotations

import functools
import http.server
import threading
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
    process, api = start_local_runner(tmp_path_factory.mktemp("runner"))
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
    # And the page fits a 360 px screen (no horizontal scrolling of the page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # When the owner signs in
    owner = new_page()
    sign_in(owner, api, *OWNER)
    owner.get_by_role("navigation").get_by_role("link", name="Users").click()
    # Then they see the team, the member included, and may change roles
    expect(owner.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(owner.get_by_role("cell", name="m@acme.example")).to_be_visible()
    expect(owner.get_by_label("role of m@acme.example")).to_have_value("member")
