"""CORS answers exactly the origins of the publishable key presented (minirag.api.cors), and the
dashboard function serves its static files with their types, cache headers and CSP, through the
local runner (the routes of template.yaml, the real handlers)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from minirag.local.server import build_local_app
from minirag.local.template import parse_template
from minirag.settings import get_settings
from tests.local.test_runner import CRUD_FUNCTIONS, _bootstrap, _trimmed_template

SHOP = "https://shop.example.com"
OTHER = "https://evil.example.net"


@pytest.fixture
def client(tmp_path) -> TestClient:
    functions = CRUD_FUNCTIONS | {"SystemFunction", "ChatFunction", "DashboardFunction"}
    template = parse_template(_trimmed_template(tmp_path, functions))
    with TestClient(build_local_app(template, get_settings()), base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


def _preflight(client: TestClient, origin: str):
    return client.options("/v1/chat", headers={"origin": origin, "access-control-request-method": "POST",
                                               "access-control-request-headers": "authorization, content-type"})


def _key(client: TestClient, owner: dict[str, str], bot_id: str, origins: list[str] | None) -> dict:
    body = {"name": "widget", "bot_profile_id": bot_id}
    if origins is not None:
        body["allowed_origins"] = origins
    response = client.post("/v1/api-tokens", json=body, headers=owner)
    assert response.status_code == 201, response.text
    return response.json()


def _chat(client: TestClient, key: str, bot_id: str, origin: str):
    return client.post("/v1/chat", json={"bot_profile_id": bot_id, "message": "hello"},
                       headers={"authorization": f"Bearer {key}", "origin": origin})


def test_a_preflight_is_answered_only_for_origins_a_live_publishable_key_lists(client):
    owner = {"authorization": f"Bearer {_bootstrap(client)}"}
    bot = client.post("/v1/bot-profiles", json={"name": "Shop"}, headers=owner).json()
    # Given no key lists the shop's origin: its preflight gets no CORS answer
    before = _preflight(client, SHOP)
    assert before.status_code == 204 and "access-control-allow-origin" not in before.headers

    # When a publishable key allows the shop's origin
    key = _key(client, owner, bot["id"], [SHOP])

    # Then the shop's preflight is answered with exactly its origin, never "*"
    shop = _preflight(client, SHOP)
    assert shop.status_code == 204
    assert shop.headers["access-control-allow-origin"] == SHOP
    assert "POST" in shop.headers["access-control-allow-methods"]
    assert "authorization" in shop.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in shop.headers
    assert "Origin" in shop.headers["vary"]
    # And another origin's is not
    assert "access-control-allow-origin" not in _preflight(client, OTHER).headers
    # And a key without allowed_origins (usable from anywhere but a browser page) opens no origin
    _key(client, owner, bot["id"], None)
    assert "access-control-allow-origin" not in _preflight(client, OTHER).headers

    # When the key is revoked, the shop's preflight is no longer answered
    assert client.delete(f"/v1/api-tokens/{key['id']}", headers=owner).status_code == 204
    assert "access-control-allow-origin" not in _preflight(client, SHOP).headers


def test_a_response_allows_only_the_origin_of_the_key_presented(client):
    owner_token = _bootstrap(client)
    owner = {"authorization": f"Bearer {owner_token}"}
    bot = client.post("/v1/bot-profiles", json={"name": "Shop"}, headers=owner).json()
    shop_key = _key(client, owner, bot["id"], [SHOP])["raw_token"]
    open_key = _key(client, owner, bot["id"], None)["raw_token"]

    # When the shop's page chats with its key
    answered = _chat(client, shop_key, bot["id"], SHOP)
    # Then the answer carries exactly the shop's origin
    assert answered.status_code == 200, answered.text
    assert answered.headers["access-control-allow-origin"] == SHOP
    assert "x-request-id" in answered.headers["access-control-expose-headers"]

    # When another site uses the shop's key: 403 naming origin, and no CORS answer (the page cannot read it)
    refused = _chat(client, shop_key, bot["id"], OTHER)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "origin_not_allowed"
    assert refused.json()["error"]["details"][0]["field"] == "origin"
    assert "access-control-allow-origin" not in refused.headers

    # And neither a key without allowed_origins nor the owner's own token opens CORS for any page
    assert "access-control-allow-origin" not in _chat(client, open_key, bot["id"], OTHER).headers
    assert "access-control-allow-origin" not in _chat(client, owner_token, bot["id"], SHOP).headers


def test_the_dashboard_and_widget_files_are_served_with_types_caching_and_a_strict_csp(client):
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and page.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/dashboard/app.js">' in page.text

    # Every module the page loads is there, as JavaScript, cacheable
    for path in ("/dashboard/app.js", "/dashboard/api.js", "/dashboard/vendor/uPlot.esm.js",
                 "/widget/minirag-widget.js"):
        asset = client.get(path)
        assert asset.status_code == 200, path
        assert asset.headers["content-type"].startswith("text/javascript")
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert "max-age" in asset.headers["cache-control"]
    assert client.get("/dashboard/style.css").headers["content-type"].startswith("text/css")

    # A page of the app (no extension) is the app; a missing asset or a path out of the folder is a 404
    assert client.get("/dashboard/bots").text == page.text
    for missing in ("/dashboard/nothing.js", "/widget/nothing.js", "/dashboard/%2e%2e/app.py", "/widget/../app.py"):
        response = client.get(missing)
        assert response.status_code == 404, missing
        assert response.json()["error"]["code"] == "not_found"
