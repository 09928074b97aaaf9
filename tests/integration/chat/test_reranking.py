"""Reranking (issue 12), through the real handlers, against a local HTTP stand-in speaking Cohere's
rerank API (`POST /v2/rerank`, the path LiteLLM's cohere provider calls). The stand-in is reachable
only because the operator's MODEL_ENDPOINTS names it for `cohere`; it scores the documents it gets
in the *inverse* of their order, so reranked results must come back reversed.

Checked: the order and `score` follow the reranker, the call carries the bot's own key, its usage
and LiteLLM's cost are recorded (usage event of kind `rerank`, /v1/stats/usage/by-model, the chat's
usage), a failing or absent reranker leaves retrieval's order with a warning (JSON and streamed
chat still 200), bad settings are 422 naming the field, and a tenant cannot aim the reranker at a
host of its choosing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.factories import make_bot_profile, make_ingested_source

RERANK_MODEL = "cohere/rerank-v3.5"
RERANK_COST = 0.002  # LiteLLM's price map: cohere rerank-v3.5, per query (one search unit)
TENANT_KEY = "co-tenant-own-key-0123456789"
PASSAGES = (
    "Laptop refunds are accepted within 30 days of purchase, with the receipt.",
    "Phone refunds are accepted within 14 days of purchase when the phone is unused.",
    "Refunds for gift cards are not possible; gift cards never expire.",
)
QUERY = "How long do I have to ask for a refund?"


@dataclass
class CohereStandIn:
    """Cohere's /v2/rerank: relevance rises with a document's position in the request (the
    inverse of the order it was sent in); records every request. `status` != 200 answers an error."""

    status: int = 200
    delay: float = 0.0  # seconds before answering
    empty: bool = False  # answer 200 with no results
    requests: list[tuple[str, dict, dict]] = field(default_factory=list)  # (path, headers, body)
    port: int = 0

    @staticmethod
    def score(index: int, count: int) -> float:
        return round(0.1 + 0.8 * index / max(count - 1, 1), 6)

    def serve(self) -> Iterator[CohereStandIn]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                stand_in.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(stand_in.delay)
                if stand_in.status != 200:
                    reply: dict = {"message": "internal error"}
                else:
                    count = len(body["documents"])
                    results = sorted(({"index": i, "relevance_score": stand_in.score(i, count)}
                                      for i in range(count)), key=lambda r: -r["relevance_score"])
                    reply = {"id": "rr-1", "results": [] if stand_in.empty else results[: body.get("top_n") or count],
                             "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}
                data = json.dumps(reply).encode()
                try:
                    self.send_response(stand_in.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the caller timed out and hung up ("too_slow")

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

    @property
    def documents(self) -> list[str]:
        """The documents of the last request, in the order they were sent (retrieval's order)."""
        return self.requests[-1][2]["documents"]


def set_env(monkeypatch, **env: str | None) -> None:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    from minirag.llm.gateway import get_gateway
    from minirag.settings import get_settings

    get_settings.cache_clear()
    get_gateway.cache_clear()


@pytest.fixture
def reranker(monkeypatch) -> Iterator[CohereStandIn]:
    """The stand-in, as the operator's vetted cohere endpoint; no retries, so failures are quick."""
    for stand_in in CohereStandIn().serve():
        set_env(monkeypatch, MODEL_ENDPOINTS=json.dumps({"cohere": stand_in.url}), LLM_MAX_RETRIES="0")
        yield stand_in


@pytest.fixture
def reranked_bot(api, tenant_a, ingest_worker, reranker):
    bot = make_bot_profile(api, tenant_a, provider_api_key=TENANT_KEY, rerank_model=RERANK_MODEL, top_k=3)
    for number, passage in enumerate(PASSAGES, start=1):
        make_ingested_source(api, tenant_a, bot["id"], ingest_worker, name=f"Policy {number}", content=passage)
    reranker.requests.clear()
    return bot


def retrieve(api, tenant, bot_id: str, **extra):
    return api.post("/v1/retrieve", {"bot_profile_id": bot_id, "query": QUERY, **extra}, token=tenant.token)


def test_retrieve_follows_the_reranker_order_and_scores(api, tenant_a, reranked_bot, reranker, tenant_rows):
    from minirag.db.models import UsageEvent, UsageKind

    # Given a bot reranking with the stand-in, and its fused order (reranking switched off)
    assert api.patch(f"/v1/bot-profiles/{reranked_bot['id']}", {"rerank_model": None},
                     token=tenant_a.token).status == 200
    fused = retrieve(api, tenant_a, reranked_bot["id"], top_k=3).json["data"]
    assert reranker.requests == []
    assert api.patch(f"/v1/bot-profiles/{reranked_bot['id']}", {"rerank_model": RERANK_MODEL},
                     token=tenant_a.token).json["rerank_model"] == RERANK_MODEL

    # When the tenant retrieves again with reranking on
    response = retrieve(api, tenant_a, reranked_bot["id"], top_k=3)

    # Then the reranker got the fused candidates in fused order, with the bot's own key and top_n
    assert response.status == 200, response.body
    [(path, headers, sent)] = reranker.requests
    assert path == "/v2/rerank" and headers["authorization"] == f"Bearer {TENANT_KEY}"
    assert sent["model"] == "rerank-v3.5" and sent["query"] == QUERY and sent["top_n"] == 3
    assert sent["documents"] == [c["text"] for c in fused]
    # ... and the results come back in the reranker's (inverted) order, each scored by it
    data = response.json["data"]
    assert [c["chunk_id"] for c in data] == [c["chunk_id"] for c in reversed(fused)]
    assert [c["score"] for c in data] == [CohereStandIn.score(i, 3) for i in (2, 1, 0)]
    assert [c["rerank_score"] for c in data] == [c["score"] for c in data]
    assert [c["rank"] for c in data] == [1, 2, 3] and response.json["warnings"] == []
    assert all(c["rerank_score"] is None for c in fused)
    # ... and the call's usage and cost are recorded and shown by model
    [event] = tenant_rows(tenant_a, UsageEvent, UsageEvent.kind == UsageKind.rerank)
    assert event.model == RERANK_MODEL and str(event.bot_profile_id) == reranked_bot["id"]
    assert event.cost == pytest.approx(RERANK_COST)
    by_model = {row["model"]: row for row in api.get("/v1/stats/usage/by-model", token=tenant_a.token).json}
    assert by_model[RERANK_MODEL]["requests"] == 1
    assert by_model[RERANK_MODEL]["cost_usd"] == pytest.approx(RERANK_COST)


def test_rerank_top_n_keeps_that_many_of_more_candidates(api, tenant_a, reranked_bot, reranker):
    # Given the bot keeps only the reranker's best one
    assert api.patch(f"/v1/bot-profiles/{reranked_bot['id']}", {"rerank_top_n": 1},
                     token=tenant_a.token).json["rerank_top_n"] == 1

    # When the tenant retrieves with top_k 1
    response = retrieve(api, tenant_a, reranked_bot["id"], top_k=1)

    # Then all the candidates went to the reranker (more than kept), and its best one is returned
    assert response.status == 200, response.body
    sent = reranker.requests[-1][2]
    assert len(sent["documents"]) == len(PASSAGES) and sent["top_n"] == 1
    [best] = response.json["data"]
    assert best["text"] == sent["documents"][-1] and best["score"] == CohereStandIn.score(2, 3)


def test_chat_prompt_and_citations_follow_the_reranker_and_count_its_cost(api, tenant_a, reranked_bot, reranker,
                                                                        tenant_rows):
    from minirag.db.models import UsageEvent, UsageKind

    # When the tenant chats with the reranking bot
    response = api.post("/v1/chat", {"bot_profile_id": reranked_bot["id"], "message": QUERY}, token=tenant_a.token)

    # Then the answer is grounded on the reranked passages: every citation carries the reranker's score
    assert response.status == 200, response.body
    body = response.json
    assert body["warnings"] == [] and body["citations"], body
    scores = {text: CohereStandIn.score(i, 3) for i, text in enumerate(reranker.documents)}
    for citation in body["citations"]:
        [text] = [t for t in scores if " ".join(t.split()).startswith(citation["snippet"].rstrip("…"))]
        assert citation["score"] == pytest.approx(scores[text])
    # ... and the rerank cost is in the turn's usage and recorded as its own event of the chat
    assert body["usage"]["cost"] == pytest.approx(RERANK_COST)  # the offline answer model costs nothing
    [event] = tenant_rows(tenant_a, UsageEvent, UsageEvent.kind == UsageKind.rerank)
    assert str(event.chat_id) == body["chat_id"] and str(event.message_id) == body["user_message_id"]


def test_chat_prompt_lists_the_passages_in_reranked_order(api, tenant_a, reranked_bot, reranker, monkeypatch):
    from minirag.llm.gateway import LLMGateway

    prompts: list[str] = []
    original = LLMGateway.complete

    def spied(self, messages, **kwargs):
        prompts.append(messages[-1]["content"])
        return original(self, messages, **kwargs)

    monkeypatch.setattr(LLMGateway, "complete", spied)

    # When the tenant chats
    assert api.post("/v1/chat", {"bot_profile_id": reranked_bot["id"], "message": QUERY},
                    token=tenant_a.token).status == 200

    # Then the prompt puts the reranker's best passage first: the reverse of the order it was sent
    [prompt] = prompts
    positions = [prompt.index(text) for text in reranker.documents]
    assert positions == sorted(positions, reverse=True)


@pytest.mark.parametrize("failure", ["http_500", "down", "no_results", "too_slow"])
def test_reranker_failure_keeps_the_fused_order_with_a_warning(api, tenant_a, reranked_bot, reranker, monkeypatch,
                                                             tenant_rows, failure):
    from minirag.db.models import UsageEvent, UsageKind

    # Given the fused order, and then a reranker that fails (500) or is not listening at all
    assert api.patch(f"/v1/bot-profiles/{reranked_bot['id']}", {"rerank_model": None},
                     token=tenant_a.token).status == 200
    fused = retrieve(api, tenant_a, reranked_bot["id"], top_k=3).json["data"]
    assert api.patch(f"/v1/bot-profiles/{reranked_bot['id']}", {"rerank_model": RERANK_MODEL},
                     token=tenant_a.token).status == 200
    if failure == "http_500":
        reranker.status = 500
    elif failure == "no_results":
        reranker.empty = True
    elif failure == "too_slow":
        reranker.delay = 1.5
        set_env(monkeypatch, RERANK_TIMEOUT_SECONDS="0.3")
    else:
        set_env(monkeypatch, MODEL_ENDPOINTS=json.dumps({"cohere": "http://127.0.0.1:9"}))  # discard port

    # When the tenant retrieves, chats, and chats streamed
    retrieved = retrieve(api, tenant_a, reranked_bot["id"], top_k=3)
    chat = api.post("/v1/chat", {"bot_profile_id": reranked_bot["id"], "message": QUERY}, token=tenant_a.token)
    streamed = api.post("/v1/chat", {"bot_profile_id": reranked_bot["id"], "message": QUERY, "stream": True},
                        token=tenant_a.token)

    # Then nothing fails: retrieval's own order and scores come back, with a warning naming the reranker
    assert retrieved.status == 200, retrieved.body
    assert [(c["chunk_id"], c["score"]) for c in retrieved.json["data"]] == [(c["chunk_id"], c["score"])
                                                                             for c in fused]
    [warning] = retrieved.json["warnings"]
    assert RERANK_MODEL in warning and "order" in warning
    assert chat.status == 200, chat.body
    assert chat.json["answer"] and chat.json["citations"] and chat.json["warnings"] == [warning]
    assert streamed.status == 200
    events = [block for block in streamed.body.decode().split("\n\n") if block.startswith("event: done")]
    [done] = [json.loads(block.split("data: ", 1)[1]) for block in events]
    assert done["warnings"] == [warning] and done["answer"] == chat.json["answer"]
    # ... and no rerank usage is recorded for calls that did not succeed
    assert tenant_rows(tenant_a, UsageEvent, UsageEvent.kind == UsageKind.rerank) == []
    if failure != "down":
        assert len(reranker.requests) == 3  # one call each (LLM_MAX_RETRIES=0), none retried


@pytest.mark.parametrize("body, field", [
    ({"rerank_model": "local/reranker"}, "rerank_model"),  # no offline reranker exists
    ({"rerank_model": "not a model"}, "rerank_model"),
    ({"rerank_model": "rerank-v3.5"}, "rerank_model"),  # names no provider
    ({"rerank_top_n": 0}, "rerank_top_n"),
    ({"rerank_top_n": 101}, "rerank_top_n"),
    ({"rerank_top_n": "many"}, "rerank_top_n"),
])
def test_invalid_rerank_settings_return_422_naming_the_field(api, tenant_a, body, field):
    # Given a bot
    bot = make_bot_profile(api, tenant_a, provider_api_key=TENANT_KEY)

    # When the tenant creates or updates one with a bad reranker setting
    created = api.post("/v1/bot-profiles", {"name": "Bad", "provider_api_key": TENANT_KEY, **body},
                       token=tenant_a.token)
    updated = api.patch(f"/v1/bot-profiles/{bot['id']}", body, token=tenant_a.token)

    # Then both are 422 naming the field, and the bot is unchanged
    assert created.status == 422 and created.error_fields() == {field}, created.body
    assert updated.status == 422 and updated.error_fields() == {field}, updated.body
    stored = api.get(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).json
    assert stored["rerank_model"] is None and stored["rerank_top_n"] is None


@pytest.mark.parametrize("body, field", [
    ({"rerank_model": "hosted_vllm/bge-reranker", "provider_api_key": TENANT_KEY}, "rerank_model"),  # self-hosted
    ({"rerank_model": "infinity/bge-reranker", "provider_api_key": TENANT_KEY}, "rerank_model"),
    ({"rerank_model": "bedrock/cohere.rerank-v3-5:0", "provider_api_key": TENANT_KEY}, "rerank_model"),  # platform's
    ({"rerank_model": RERANK_MODEL}, "rerank_model"),  # no key, and not in PLATFORM_MODELS
    ({"rerank_model": RERANK_MODEL, "rerank_api_base": "http://127.0.0.1:9"}, "rerank_api_base"),
])
def test_tenant_cannot_aim_the_reranker_at_a_host_or_the_platform_key(api, tenant_a, reranker, body, field):
    # When a tenant names a reranker on a host of its choosing, on the platform's cloud account, or
    # on the platform's key
    response = api.post("/v1/bot-profiles", {"name": "Probe", **body}, token=tenant_a.token)

    # Then it is refused, naming the field, and nothing was called
    assert response.status == 422 and response.error_fields() == {field}, response.body
    assert reranker.requests == []


def test_dropping_the_key_of_a_reranking_bot_returns_422(api, tenant_a, reranked_bot):
    # When the tenant removes the key its reranker runs on (the platform's keys do not serve it)
    response = api.patch(f"/v1/bot-profiles/{reranked_bot['id']}", {"provider_api_key": None}, token=tenant_a.token)

    # Then 422 naming the key; the bot keeps it
    assert response.status == 422 and response.error_fields() == {"provider_api_key"}, response.body
    assert api.get(f"/v1/bot-profiles/{reranked_bot['id']}", token=tenant_a.token).json["has_provider_key"] is True


def test_reranker_refused_after_the_policy_changed_falls_back_and_calls_nothing(api, tenant_a, reranked_bot,
                                                                             reranker, monkeypatch):
    # Given the operator no longer allows cohere on tenants' keys
    set_env(monkeypatch, MODEL_PROVIDERS="openai")

    # When the tenant retrieves with the bot stored before
    response = retrieve(api, tenant_a, reranked_bot["id"], top_k=3)

    # Then retrieval still answers, in its own order, with a warning; the reranker got nothing
    assert response.status == 200, response.body
    [warning] = response.json["warnings"]
    assert "cohere" in warning and len(response.json["data"]) == 3
    assert all(c["rerank_score"] is None for c in response.json["data"])
    assert reranker.requests == []


def test_platform_reranker_uses_the_platform_key_only_for_listed_models(api, tenant_a, ingest_worker, reranker,
                                                                       monkeypatch):
    # Given the operator serves cohere rerank models on the platform's Cohere key
    set_env(monkeypatch, PLATFORM_MODELS="cohere/rerank-*", COHERE_API_KEY="co-platform-key-0123456789")
    bot = make_bot_profile(api, tenant_a, rerank_model=RERANK_MODEL)
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker, content=PASSAGES[0])

    # When a tenant without a key retrieves
    response = retrieve(api, tenant_a, bot["id"], top_k=1)

    # Then the reranker was called with the platform's key, and the bot's own score came back
    assert response.status == 200 and response.json["warnings"] == [], response.body
    assert reranker.requests[-1][1]["authorization"] == "Bearer co-platform-key-0123456789"
    assert response.json["data"][0]["rerank_score"] is not None
