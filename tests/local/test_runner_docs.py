"""The runner's API docs work offline: `/docs` (Swagger UI) and `/redoc` load their scripts, styles
and icon from the runner itself (the fastapi-offline package's copies), never from a CDN."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from minirag.local.server import build_local_app
from minirag.local.template import load_template
from minirag.settings import get_settings
from tests.conftest import ROOT


@pytest.fixture
def client():
    with TestClient(build_local_app(load_template(str(ROOT / "template.yaml")), get_settings())) as test_client:
        yield test_client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_every_asset_from_the_runner(client, page):
    # When the page is fetched
    html = client.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")

    # Then nothing it loads is on another host, and each asset it names is served
    urls = re.findall(r"""(?:src|href|url)\s*[=:(]\s*['"]([^'"]+)['"]""", html.text)
    assert urls and not [u for u in urls if "//" in u], urls
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 0, url
    assert "/openapi.json" in html.text


def test_docs_assets_are_the_real_bundles(client):
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert len(script.content) > 500_000  # the whole Swagger UI bundle, not a stub
    assert client.get("/docs/assets/redoc.standalone.js").status_code == 200
    assert client.get("/docs/assets/../../pyproject.toml").status_code == 404  # no path escapes
