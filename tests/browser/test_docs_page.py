"""`/docs` in a real browser, with no internet: Swagger UI renders the list of operations."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runner_process import start_local_runner, stop

pytestmark = pytest.mark.browser


def test_docs_page_shows_the_operations_offline(tmp_path: Path, chromium, screenshot_on_failure):
    runner, api = start_local_runner(tmp_path)
    try:
        screenshot_on_failure(f"{api}/docs")
        # When a browser that can reach only 127.0.0.1 opens /docs
        dom = chromium.dom(f"{api}/docs")

        # Then Swagger UI rendered the operations (not an empty page), for several routes
        assert dom.count('class="opblock ') > 30, dom[-2000:]
        for path in ("/v1/chat", "/v1/sources/{id}/ingest", "/v1/webhooks"):
            assert f'data-path="{path}"' in dom, path
        assert "MiniRAG API" in dom
    finally:
        stop(runner)


def test_redoc_page_renders_offline(tmp_path: Path, chromium, screenshot_on_failure):
    runner, api = start_local_runner(tmp_path)
    try:
        screenshot_on_failure(f"{api}/redoc")
        dom = chromium.dom(f"{api}/redoc")
        assert "/v1/chat" in dom and dom.count("operation/") > 30, dom[-2000:]
    finally:
        stop(runner)
