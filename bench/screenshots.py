"""The README's screenshots of the dashboard and the widget, taken with the browser tests' setup
(Playwright driving Debian's Chromium, the real local runner, offline models). Re-run it after
changing the pages:

    PYTHONPATH=shared .venv/bin/python bench/screenshots.py [--out functions/dashboard/screenshots]

It signs in, creates a bot through the dashboard, ingests a text source, asks "Try it", opens a
citation and saves `dashboard-chat.png`; then embeds the widget on a page served from a second port
and saves `widget.png`. It also visits every page of the dashboard and fails on any script error."""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser.dashboard_flows import OWNER, add_and_ingest_text, create_bot, ingested_bot, publishable_key, sign_in
from tests.runner_process import bootstrap_tenant, free_port, start_local_runner, stop

ROOT = Path(__file__).resolve().parents[1]
FACT = ("Orders ship within 2 business days. Returns are accepted for 30 days after delivery, "
        "and refunds reach the original payment method within 5 days of the return arriving.")
PAGES = ["overview", "bots", "sources", "chats", "usage", "webhooks", "tokens", "users", "settings"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "functions" / "dashboard" / "screenshots")
    parser.add_argument("--pages", type=Path, help="also save a screenshot of every page into this folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="minirag-shots-"))
    (work / "runner").mkdir()
    runner, api = start_local_runner(work / "runner")
    host_dir = work / "host"
    host_dir.mkdir()
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(host_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        auth = bootstrap_tenant(api)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            sign_in(page, api, *OWNER)
            create_bot(page, "Store help")
            add_and_ingest_text(page, "Shipping and returns", FACT)
            page.go_back()
            page.get_by_label("Your question").fill("How long do refunds take?")
            page.get_by_role("button", name="Send").click()
            answer = page.locator(".msg.assistant[data-state=done]")
            expect(answer).to_be_visible(timeout=30_000)
            answer.get_by_role("button", name="citation 1").click()
            page.screenshot(path=str(args.out / "dashboard-chat.png"))
            for name in PAGES:  # every page renders without a script error
                page.goto(f"{api}/dashboard#/{name}")
                expect(page.locator("main h1")).to_be_visible()
                page.wait_for_load_state("networkidle")
                failed = page.locator("main .error")
                assert not failed.count(), f"{name}: {failed.first.inner_text()}"
                if args.pages:
                    args.pages.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(args.pages / f"{name}.png"), full_page=True)
            assert errors == [], errors

            bot_id = ingested_bot(api, auth, "Shop bot", FACT)
            key = publishable_key(api, auth, bot_id, [f"http://127.0.0.1:{port}"])
            (host_dir / "shop.html").write_text(f"""<!doctype html><html><head><title>Shop</title>
<style>body {{ font: 18px Georgia, serif; margin: 2rem; background: #fdf6e3; }}</style></head>
<body><h1>Acme outdoor shop</h1><p>Tents, stoves and boots. Questions? Ask below.</p>
<script src="{api}/widget/minirag-widget.js" data-bot-id="{bot_id}" data-api-url="{api}" data-api-key="{key}"
  data-title="Ask Acme" data-color="#0f766e" data-open="true"></script></body></html>""")
            shop = browser.new_page(viewport={"width": 900, "height": 700})
            shop.goto(f"http://127.0.0.1:{port}/shop.html")
            widget = shop.locator("[data-minirag-widget]")
            widget.get_by_label("Your question").fill("Can I return a tent?")
            widget.get_by_role("button", name="Send").click()
            expect(widget).to_have_attribute("data-state", "answered", timeout=30_000)
            shop.screenshot(path=str(args.out / "widget.png"))
            browser.close()
    finally:
        server.shutdown()
        stop(runner)
    for name in ("dashboard-chat.png", "widget.png"):
        print(args.out / name, (args.out / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
