"""The local runner reads request bodies as API Gateway would let them in: it stops at
MAX_REQUEST_BYTES with a 413 while the body streams (a 300 MB chunked POST must not be buffered
first), and a JSON body nested thousands deep gets the functions' JSON error on every route,
streaming ones (/v1/chat, /v1/retrieve) included."""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
from starlette.testclient import TestClient

from minirag.local.server import build_local_app
from minirag.settings import get_settings
from tests.factories import make_bot_profile

CHUNK = 64 * 1024


@pytest.fixture
def runner(api):
    return build_local_app(api.template, get_settings())


def _post_chunked(app, path: str, chunks, headers: list[tuple[bytes, bytes]]) -> tuple[int, dict, int]:
    """POST a chunked body to the ASGI app; (status, JSON body, how many chunks the app read)."""
    read = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal read
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1:8000"), (b"transfer-encoding", b"chunked"), *headers],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    # In a thread of its own: a loop run on the main thread unsets its event loop, which the
    # handler adapter (Mangum) that other tests call from the main thread relies on.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, runner_call, app, scope, receive, send).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), read


async def runner_call(app, scope, receive, send) -> None:
    await app(scope, receive, send)


@pytest.mark.parametrize("path", ["/v1/sources", "/v1/chat", "/v1/retrieve"])
def test_chunked_body_over_the_limit_is_413_without_reading_the_rest(api, tenant_a, runner, path):
    # Given a 300 MB chunked body (no content-length) of a JSON document that never ends
    limit = get_settings().max_request_bytes
    chunks = 300 * 1024 * 1024 // CHUNK
    body = itertools.chain([b'{"stream": true, "message": "'], itertools.repeat(b"x" * CHUNK, chunks))
    headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {tenant_a.token}".encode())]

    # When it is POSTed to the runner
    status, error, read = _post_chunked(runner, path, body, headers)

    # Then the answer is the 413 envelope, given as soon as the limit was passed
    assert status == 413 and error["error"]["code"] == "payload_too_large", error
    assert read <= limit // CHUNK + 2


def test_declared_length_over_the_limit_is_413_before_reading(api, tenant_a, runner):
    # Given a request that declares a body over the limit
    limit = get_settings().max_request_bytes
    headers = [(b"content-type", b"application/json"), (b"content-length", str(limit + 1).encode())]

    # When it is POSTed to the streaming chat route
    status, error, read = _post_chunked(runner, "/v1/chat", itertools.repeat(b"x" * CHUNK, 32), headers)

    # Then it is refused before any of the body is read
    assert (status, error["error"]["code"], read) == (413, "payload_too_large", 0)


@pytest.mark.parametrize("depth", [3000, 5000])
@pytest.mark.parametrize("path", ["/v1/sources", "/v1/chat", "/v1/retrieve"])
def test_deeply_nested_json_gets_the_json_error_every_route_gives(api, tenant_a, runner, path, depth):
    # Given a body nested thousands of levels deep
    bot = make_bot_profile(api, tenant_a)
    body = (f'{{"bot_profile_id": "{bot["id"]}", "message": "hi", "query": "hi", "stream": true, "x": '
            + "[" * depth + "]" * depth + "}")

    # When it is POSTed through the runner
    with TestClient(runner, base_url="http://127.0.0.1:8000") as client:
        response = client.post(path, content=body, headers={"authorization": f"Bearer {tenant_a.token}",
                                                            "content-type": "application/json"})

    # Then it is the functions' JSON 400 envelope (not a text/plain 500 or a reset connection)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["message"] == "There was an error parsing the body"
