"""What the browser tests (and `bench/screenshots.py`) do through the dashboard's pages, as a user does:
by labels, roles and visible text."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import Page, expect

OWNER = ("o@acme.example", "correct horse battery")


def sign_in(page: Page, api: str, email: str, password: str) -> None:
    page.goto(f"{api}/dashboard")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def create_bot(page: Page, name: str) -> str:
    page.get_by_role("navigation").get_by_role("link", name="Bots").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create bot").click()
    expect(page.get_by_role("heading", name=f"Bot: {name}")).to_be_visible()
    return page.url.rsplit("/", 1)[-1]


def add_and_ingest_text(page: Page, name: str, text: str) -> None:
    page.get_by_role("link", name="Sources of this bot").click()
    form = page.locator("form", has=page.get_by_role("heading", name="Add text"))
    form.get_by_label("Source name").fill(name)
    form.get_by_label("Text").fill(text)
    form.get_by_role("button", name="Add text source").click()
    row = page.get_by_role("row", name=name)
    expect(row.locator("[data-source-status]")).to_have_attribute("data-source-status", "pending")
    row.get_by_role("button", name="Ingest").click()
    expect(row.locator("[data-source-status]")).to_have_attribute("data-source-status", "ready", timeout=45_000)


def ingested_bot(api: str, auth: dict[str, str], name: str, text: str) -> str:
    """A bot with one ingested text source, through the API (for the widget's tests)."""
    bot = httpx.post(f"{api}/v1/bot-profiles", json={"name": name}, headers=auth, timeout=30).json()
    source = httpx.post(f"{api}/v1/sources", headers=auth, timeout=30, json={
        "bot_profile_id": bot["id"], "name": "facts", "source_type": "text", "content": text}).json()
    httpx.post(f"{api}/v1/sources/{source['id']}/ingest", headers=auth, timeout=30).raise_for_status()
    for _ in range(300):
        status = httpx.get(f"{api}/v1/sources/{source['id']}", headers=auth, timeout=30).json()["status"]
        if status == "ready":
            return bot["id"]
        assert status != "error"
        time.sleep(0.1)
    raise AssertionError("the source never became ready")


def publishable_key(api: str, auth: dict[str, str], bot_id: str, origins: list[str]) -> str:
    response = httpx.post(f"{api}/v1/api-tokens", headers=auth, timeout=30, json={
        "name": "widget", "bot_profile_id": bot_id, "allowed_origins": origins})
    response.raise_for_status()
    return response.json()["raw_token"]
