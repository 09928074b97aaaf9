"""True streaming through the local runner: `"stream": true` chat requests go to the chat
function's ASGI app (as Lambda Web Adapter does behind a Function URL in RESPONSE_STREAM mode),
so token events reach the client while the model is still writing. Real uvicorn on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from minirag.llm.gateway import LLMGateway
from minirag.local.server import build_local_app, streaming_functions

GATE_TIMEOUT_SECONDS = 30  # only reached if the runner buffers; the test then fails instead of hanging


@pytest.fixture
def runner(api) -> Iterator[str]:
    """The local runner (`minirag dev`'s app) on 127.0.0.1, on a socket bound before it starts."""
    from minirag.settings import get_settings

    app = build_local_app(api.template, get_settings())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # connections queue here until uvicorn accepts them: no start-up wait needed
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def read_events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line:
            key, _, value = line.partition(": ")
            fields[key] = value
        elif fields:
            yield fields["event"], json.loads(fields["data"])
            fields = {}


def test_template_marks_only_the_chat_function_as_streaming(api):
    assert streaming_functions(api.template) == {"ChatFunction"}


def test_runner_sends_token_events_before_the_model_has_finished(api, runner, tenant_a, bot, handbook, monkeypatch):
    # Given a model that, after its first piece of text, waits until the client has received it
    client_has_token = threading.Event()
    gate: list[bool] = []
    original = LLMGateway.stream

    class Gated:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __iter__(self) -> Iterator[str]:
            for number, delta in enumerate(self.inner):
                if number == 1:
                    gate.append(client_has_token.wait(GATE_TIMEOUT_SECONDS))
                yield delta

        @property
        def result(self) -> Any:
            return self.inner.result

    monkeypatch.setattr(LLMGateway, "stream", lambda self, messages, **kw: Gated(original(self, messages, **kw)))

    # When the client asks through the runner with stream: true and reads the events as they come
    events: list[tuple[str, dict[str, Any]]] = []
    with httpx.stream("POST", f"{runner}/v1/chat", timeout=60,
                      headers={"authorization": f"Bearer {tenant_a.token}"},
                      json={"bot_profile_id": bot["id"], "message": "How many days for a laptop refund?",
                            "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-request-id"]
        for name, data in read_events(response):
            events.append((name, data))
            if name == "token":
                client_has_token.set()

    # Then the first token arrived while the model was still held: the answer was streamed
    assert gate == [True]
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done" and names.count("token") >= 3
    done = events[-1][1]
    assert "".join(data["text"] for name, data in events if name == "token") == done["answer"]
    assert "30 days" in done["answer"] and done["citations"][0]["source_id"] == handbook["id"]


def test_runner_answers_json_requests_through_the_handler(api, runner, tenant_a, bot, handbook):
    # Given the runner
    # When the client asks without stream (the body is read by the streaming check, then replayed)
    response = httpx.post(f"{runner}/v1/chat", timeout=60, headers={"authorization": f"Bearer {tenant_a.token}"},
                          json={"bot_profile_id": bot["id"], "message": "How many days for a laptop refund?"})

    # Then it is the JSON answer, and the chat reads back through the runner
    assert response.status_code == 200, response.text
    body = response.json()
    assert "30 days" in body["answer"]
    chat = httpx.get(f"{runner}/v1/chat/{body['chat_id']}", headers={"authorization": f"Bearer {tenant_a.token}"})
    assert chat.status_code == 200 and chat.json()["message_count"] == 2


def test_runner_streaming_request_with_invalid_body_returns_422(api, runner, tenant_a, bot):
    response = httpx.post(f"{runner}/v1/chat", timeout=60, headers={"authorization": f"Bearer {tenant_a.token}"},
                          json={"bot_profile_id": bot["id"], "message": "", "stream": True})

    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "message"
