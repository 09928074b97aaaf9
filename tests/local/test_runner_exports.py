"""The local runner serves the stats routes and streams chat exports: GET /v1/chat/export goes to
ChatFunction's ASGI app as a chunked stream (as a Function URL in RESPONSE_STREAM mode would), so an
export larger than the buffered limit (EXPORT_MAX_BYTES, Lambda's 6 MB through API Gateway)
still arrives whole; the same export through the Lambda handler is a 413."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from minirag.local.server import build_local_app
from minirag.local.template import load_template
from minirag.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.setenv("EXPORT_MAX_BYTES", "2000")
    get_settings.cache_clear()
    template = load_template(str(ROOT / "template.yaml"))
    with TestClient(build_local_app(template, get_settings()), base_url="http://127.0.0.1:8000") as client:
        yield client


def _setup(client) -> tuple[dict[str, str], str]:
    created = client.post("/v1/tenants", json={"tenant_name": "Exports", "tenant_slug": "exports",
                                               "owner_email": "owner@exports.example.com",
                                               "owner_password": "correct-horse-battery"})
    assert created.status_code == 201, created.text
    headers = {"authorization": f"Bearer {created.json()['raw_token']}"}
    bot = client.post("/v1/bot-profiles", json={"name": "Bot", "system_prompt": "Answer."}, headers=headers)
    assert bot.status_code == 201, bot.text
    return headers, bot.json()["id"]


def test_runner_streams_an_export_over_the_buffered_limit(runner, api):
    # Given chats whose export is larger than EXPORT_MAX_BYTES (2000 bytes here)
    headers, bot_id = _setup(runner)
    for n in range(8):
        turn = runner.post("/v1/chat", json={"bot_profile_id": bot_id, "message": f"Question {n} " + "x" * 300},
                           headers=headers)
        assert turn.status_code == 200, turn.text

    # When the export is fetched through the runner, and through the Lambda handler
    with runner.stream("GET", "/v1/chat/export", params={"format": "jsonl"}, headers=headers) as response:
        chunks = list(response.iter_bytes())
        status, response_headers = response.status_code, response.headers
    buffered = api.get("/v1/chat/export", token=headers["authorization"].split()[1], query={"format": "jsonl"})

    # Then the runner streams it whole (chunked, no Content-Length), 16 rows
    assert status == 200
    assert "content-length" not in response_headers
    body = b"".join(chunks)
    assert len(body) > 2000
    assert len([json.loads(line) for line in body.decode().splitlines()]) == 16
    assert response_headers["content-disposition"].endswith('.jsonl"')
    # And the buffered (Lambda) path says to narrow the range
    assert buffered.status == 413 and buffered.json["error"]["code"] == "payload_too_large"


def test_runner_serves_the_stats_routes(runner):
    headers, _ = _setup(runner)
    overview = runner.get("/v1/stats/overview", headers=headers)
    usage = runner.get("/v1/stats/usage", params={"days": 2}, headers=headers)
    assert overview.status_code == 200 and overview.json()["bots"] == 1
    assert usage.status_code == 200 and len(usage.json()) == 2
