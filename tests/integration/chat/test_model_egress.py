"""A bot's model string cannot send the prompt, the passages or a key anywhere the operator did not:
a loopback "ollama" listens where LiteLLM would send `ollama*/` models by default, and a second one
stands for the operator's vetted MODEL_ENDPOINTS server. Through the real handlers: create/update
refuse with 422, a bot stored before the policy changed is refused at call time by the gateway
(chat, retrieve, ingest), and an operator-enabled self-hosted model is called at its api_base only."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.factories import make_bot_profile, make_ingested_source

OLLAMA_DEFAULT_PORT = 11434  # where LiteLLM sends ollama/* and ollama_chat/* without an api_base
TENANT_KEY = "sk-tenant-own-key-0123456789"
LEAKED = "LEAKED: the loopback service wrote this answer"


@dataclass
class FakeOllama:
    """Answers Ollama's chat, generate and embed calls, and records every request it gets."""

    port: int = 0
    requests: list[tuple[str, dict, dict]] = field(default_factory=list)  # (path, headers, body)

    def serve(self) -> Iterator[FakeOllama]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                fake.requests.append((self.path, dict(self.headers), body))
                count = len(body.get("input") or [1]) if isinstance(body.get("input"), list) else 1
                reply = {"model": body.get("model"), "created_at": "2026-01-01T00:00:00Z", "done": True,
                         "done_reason": "stop", "message": {"role": "assistant", "content": LEAKED},
                         "response": LEAKED, "prompt_eval_count": 3, "eval_count": 5,
                         "embeddings": [[0.1] * 384] * count}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def loopback_ollama() -> Iterator[FakeOllama]:
    """A service on LiteLLM's default ollama address: nothing may ever reach it."""
    try:
        yield from FakeOllama(port=OLLAMA_DEFAULT_PORT).serve()
    except OSError:
        pytest.skip(f"127.0.0.1:{OLLAMA_DEFAULT_PORT} is taken on this machine")


@pytest.fixture
def vetted_ollama() -> Iterator[FakeOllama]:
    """The operator's own Ollama, on a free port, known only through MODEL_ENDPOINTS."""
    yield from FakeOllama().serve()


def set_policy(monkeypatch, **env: str | None) -> None:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    # Only what reads the policy: the in-memory vector store (and the ingested points) stay.
    from minirag.llm.gateway import get_gateway
    from minirag.settings import get_settings

    get_settings.cache_clear()
    get_gateway.cache_clear()


def ask(api, tenant, bot_id: str, message: str = "When are refunds processed?"):
    return api.post("/v1/chat", {"bot_profile_id": bot_id, "message": message}, token=tenant.token)


@pytest.mark.parametrize("body, field", [
    ({"model": "ollama_chat/llama3"}, "model"),
    ({"model": "ollama/llama3"}, "model"),
    ({"model": "llamafile/mistral"}, "model"),
    ({"model": "lemonade/qwen"}, "model"),
    ({"model": "hosted_vllm/x"}, "model"),
    ({"model": "bedrock/anthropic.claude-v2"}, "model"),
    ({"model": "vertex_ai/gemini-1.5-pro"}, "model"),
    ({"model": "azure/my-deployment"}, "model"),
    ({"embedding_model": "ollama/nomic-embed-text"}, "embedding_model"),
])
def test_create_bot_with_a_model_that_reaches_a_private_or_platform_endpoint_returns_422(
        api, tenant_a, loopback_ollama, body, field):
    # Given a tenant with its own provider key
    # When it names a self-hosted (loopback by default) or platform-credential provider
    response = api.post("/v1/bot-profiles", {"name": "Probe", "provider_api_key": TENANT_KEY, **body},
                        token=tenant_a.token)

    # Then the bot is refused with 422 naming the field, and nothing was created or called
    assert response.status == 422, response.body
    assert response.error_code == "model_not_allowed" and response.error_fields() == {field}
    assert api.get("/v1/bot-profiles", token=tenant_a.token).json == []
    assert loopback_ollama.requests == []


def test_update_bot_to_a_loopback_model_returns_422_and_keeps_the_old_model(api, tenant_a, loopback_ollama):
    # Given a working bot on the offline model
    bot = make_bot_profile(api, tenant_a, provider_api_key=TENANT_KEY)

    # When the tenant points it at ollama
    response = api.patch(f"/v1/bot-profiles/{bot['id']}", {"model": "ollama_chat/llama3"}, token=tenant_a.token)

    # Then 422 naming model; the bot keeps its model
    assert response.status == 422 and response.error_fields() == {"model"}
    assert api.get(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).json["model"] == "local/extractive"


def test_bot_stored_before_the_policy_changed_is_refused_at_call_time(api, tenant_a, ingest_worker, monkeypatch,
                                                                     loopback_ollama, vetted_ollama):
    # Given the operator once enabled ollama_chat (vetted endpoint) and a tenant made a bot on it
    set_policy(monkeypatch, MODEL_PROVIDERS="openai,ollama_chat,ollama",
               MODEL_ENDPOINTS=json.dumps({"ollama_chat": vetted_ollama.url, "ollama": vetted_ollama.url}))
    bot = make_bot_profile(api, tenant_a, model="ollama_chat/llama3", provider_api_key=TENANT_KEY)
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker)
    embedder = make_bot_profile(api, tenant_a, name="Embedder", embedding_model="ollama/nomic-embed-text",
                                provider_api_key=TENANT_KEY)
    vetted_ollama.requests.clear()

    # When the operator withdraws the endpoint and the tenant chats, retrieves and ingests
    set_policy(monkeypatch, MODEL_PROVIDERS=None, MODEL_ENDPOINTS=None)
    chat = ask(api, tenant_a, bot["id"])
    retrieve = api.post("/v1/retrieve", {"bot_profile_id": embedder["id"], "query": "refunds"}, token=tenant_a.token)
    source = api.post("/v1/sources", {"bot_profile_id": embedder["id"], "name": "Doc", "source_type": "text",
                                      "content": "Refunds take 14 days."}, token=tenant_a.token).json
    assert api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token).status == 202
    ingest_worker.drain()
    ingested = api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).json

    # Then each is refused with a clear error naming the bot's field, and no request left the platform
    assert chat.status == 422 and chat.error_code == "model_not_allowed", chat.json
    assert chat.error_fields() >= {"model"} and "ollama_chat" in chat.json["error"]["message"]
    assert LEAKED not in chat.body.decode()
    assert retrieve.status == 422 and retrieve.error_fields() == {"embedding_model"}, retrieve.body
    assert ingested["status"] == "error" and "ollama" in ingested["last_error"], ingested
    assert loopback_ollama.requests == [] and vetted_ollama.requests == []


def test_operator_enabled_self_hosted_model_is_called_at_its_vetted_endpoint_only(
        api, tenant_a, ingest_worker, monkeypatch, loopback_ollama, vetted_ollama):
    # Given the operator serves ollama_chat models on the platform at a vetted endpoint
    set_policy(monkeypatch, PLATFORM_MODELS="ollama_chat/*",
               MODEL_ENDPOINTS=json.dumps({"ollama_chat": vetted_ollama.url + "/"}))
    bot = make_bot_profile(api, tenant_a, model="ollama_chat/llama3")
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker)

    # When the tenant chats
    chat = ask(api, tenant_a, bot["id"])

    # Then the answer comes from the vetted server, which got the prompt; the default address got nothing
    assert chat.status == 200, chat.body
    assert chat.json["answer"] == LEAKED
    [(path, _, sent)] = vetted_ollama.requests
    assert path == "/api/chat" and "Refunds are processed" in json.dumps(sent)
    assert loopback_ollama.requests == []


def test_keyless_bot_cannot_spend_platform_keys_on_unlisted_models(api, tenant_a, monkeypatch):
    # Given the platform's keys serve gpt-4o-mini only
    set_policy(monkeypatch, PLATFORM_MODELS="gpt-4o-mini")

    # When a tenant without a key names that model, another one, or drops the key of a bot on another one
    listed = api.post("/v1/bot-profiles", {"name": "Listed", "model": "gpt-4o-mini"}, token=tenant_a.token)
    unlisted = api.post("/v1/bot-profiles", {"name": "Dear", "model": "gpt-4o"}, token=tenant_a.token)
    keyed = make_bot_profile(api, tenant_a, model="gpt-4o", provider_api_key=TENANT_KEY)
    dropped = api.patch(f"/v1/bot-profiles/{keyed['id']}", {"provider_api_key": None}, token=tenant_a.token)
    embed = api.post("/v1/bot-profiles", {"name": "Emb", "embedding_model": "text-embedding-3-large"},
                     token=tenant_a.token)

    # Then only the listed model is accepted; the others are 422 naming what to change
    assert listed.status == 201, listed.body
    assert unlisted.status == 422 and unlisted.error_fields() == {"model"}
    assert "provider_api_key" in unlisted.json["error"]["message"]
    assert dropped.status == 422 and dropped.error_fields() == {"provider_api_key"}
    assert api.get(f"/v1/bot-profiles/{keyed['id']}", token=tenant_a.token).json["has_provider_key"] is True
    assert embed.status == 422 and embed.error_fields() == {"embedding_model"}
