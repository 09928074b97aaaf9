"""The SDK's retries, against a scripted transport (a real server cannot be told to fail on cue):
429 and 503 are retried honouring Retry-After, other 5xx only for idempotent methods, and the
last error is raised with what the API said."""

from __future__ import annotations

import httpx
import pytest

from minirag_client import MiniRAG, RateLimitError, ServerError

BOT = {"id": "b1", "name": "S", "description": None, "system_prompt": "", "model": "local/extractive",
       "temperature": 0.2, "max_tokens": 1024, "has_provider_key": False, "has_credentials": False,
       "provider_key_last4": None, "embedding_model": "local/hash", "chunk_tokens": 200,
       "chunk_overlap_tokens": 40, "top_k": 5, "min_score": 0.0, "no_answer_text": "?", "history_turns": 6,
       "is_active": True, "created_at": "2026-12-03T00:00:00Z", "updated_at": "2026-12-03T00:00:00Z"}


def scripted(*answers: httpx.Response):
    calls: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return httpx.MockTransport(handle), calls


def error(status: int, code: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers={"x-request-id": "req-1", **headers},
                          json={"error": {"code": code, "message": code.replace("_", " "), "details": []},
                                "detail": code})


def test_429_is_retried_after_retry_after_then_succeeds(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr("minirag_client._sync.client.sync_sleep", waits.append)
    transport, calls = scripted(error(429, "rate_limited", **{"retry-after": "2"}), httpx.Response(200, json=BOT))

    bot = MiniRAG("http://api.test", token="t", transport=transport).bots.create("S")

    assert bot.id == "b1" and len(calls) == 2 and waits == [2.0]


def test_a_post_is_not_retried_on_500_but_a_get_is_with_backoff(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr("minirag_client._sync.client.sync_sleep", waits.append)
    transport, calls = scripted(error(500, "internal_error"))
    client = MiniRAG("http://api.test", token="t", transport=transport, max_retries=3, backoff=0.5)

    with pytest.raises(ServerError) as failed:
        client.bots.create("S")
    assert len(calls) == 1 and failed.value.request_id == "req-1"

    with pytest.raises(ServerError):
        client.bots.get("b1")
    assert len(calls) == 1 + 4 and waits == [0.5, 1.0, 2.0]


def test_the_last_429_is_raised_with_its_retry_after(monkeypatch):
    monkeypatch.setattr("minirag_client._sync.client.sync_sleep", lambda _: None)
    transport, calls = scripted(error(429, "limit_exceeded", **{"retry-after": "7"}))

    with pytest.raises(RateLimitError) as limited:
        MiniRAG("http://api.test", token="t", transport=transport, max_retries=2).bots.get("b1")

    assert len(calls) == 3 and limited.value.retry_after == 7.0 and limited.value.code == "limit_exceeded"


SOURCE = {
    **{k: None for k in ("description", "url", "content_type", "content_chars", "message", "last_error",
                         "ready_version", "queued_at", "started_at", "finished_at")},
    "id": "s1", "bot_profile_id": "b1", "name": "a.txt", "source_type": "upload", "config": {},
    "filename": "a.txt", "metadata": {}, "status": "pending", "chunk_count": 0, "needs_ingest": True,
    "version": 0, "progress": {"documents_done": 0, "documents_total": 0, "chunks": 0, "batches_done": 0,
                               "batches_total": 0},
    "is_active": True, "created_at": "2026-12-03T00:00:00Z", "updated_at": "2026-12-03T00:00:00Z",
}


def test_the_token_is_sent_to_the_api_but_never_to_a_presigned_url(tmp_path):
    upload = {"url": "https://bucket.s3.test/key?sig=1", "method": "PUT", "headers": {"Content-Type": "text/plain"},
              "expires_at": "2026-12-03T01:00:00Z", "max_bytes": 100}
    transport, calls = scripted(httpx.Response(201, json={**SOURCE, "upload": upload}), httpx.Response(200),
                                httpx.Response(200, json=SOURCE))
    (tmp_path / "a.txt").write_text("hello")
    client = MiniRAG("http://api.test", token="secret-token", transport=transport)

    source = client.sources.upload("b1", tmp_path / "a.txt")

    create, put, read_back = calls
    assert source.id == "s1" and create.headers["authorization"] == "Bearer secret-token"
    assert put.url.host == "bucket.s3.test" and "authorization" not in put.headers
    assert put.headers["content-length"] == "5" and put.read() == b"hello"
    assert read_back.url.path == "/v1/sources/s1"
