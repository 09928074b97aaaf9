"""The chat orchestrator end to end through the chat handler, with the model gateway observed:
follow-up rewrite with history, answering without the model when nothing is relevant, provider
errors (502, the user's message kept), usage and cost accounting, streamed answers and errors,
and no database transaction held while a model works."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from minirag.db.models import Chat, Message, UsageEvent
from minirag.errors import UpstreamUnavailable
from tests.factories import make_bot_profile, make_ingested_source
from tests.integration.chat.conftest import HANDBOOK

NO_ANSWER = "Sorry, the handbook does not say."


def ask(api, tenant, bot_id: str, message: str, **extra):
    return api.post("/v1/chat", {"bot_profile_id": bot_id, "message": message, **extra}, token=tenant.token)


def sse_events(body: bytes) -> list[tuple[str, dict]]:
    events = []
    for block in body.decode().split("\n\n"):
        if block.strip():
            fields = dict(line.split(": ", 1) for line in block.splitlines())
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def tokens_of(events: list[tuple[str, dict]]) -> str:
    return "".join(data["text"] for name, data in events if name == "token")


def chat_counters_match_records(api, tenant, chat_id: str, tenant_rows) -> dict:
    chat = api.get(f"/v1/chat/{chat_id}", token=tenant.token).json
    events = tenant_rows(tenant, UsageEvent, UsageEvent.chat_id == uuid.UUID(chat_id))
    messages = tenant_rows(tenant, Message, Message.chat_id == uuid.UUID(chat_id))
    assert chat["message_count"] == len(messages)
    assert chat["prompt_tokens"] == sum(e.prompt_tokens for e in events)
    assert chat["completion_tokens"] == sum(e.completion_tokens for e in events)
    assert chat["total_tokens"] == sum(e.total_tokens for e in events)
    assert chat["total_tokens"] == chat["prompt_tokens"] + chat["completion_tokens"]
    return chat


# -- follow-ups -----------------------------------------------------------------------------------

def test_follow_up_is_rewritten_with_history_and_cites_the_right_chunk(api, tenant_a, bot, handbook, gateway_spy,
                                                                       tenant_rows):
    # Given a first turn about laptop refunds, which makes no rewrite call
    first = ask(api, tenant_a, bot["id"], "How many days do I have for a laptop refund?").json
    assert "30 days" in first["answer"] and first["retrieval_query"] == "How many days do I have for a laptop refund?"
    assert len(gateway_spy.answers) == 1 and gateway_spy.rewrites == []

    # When the user follows up with a question that only makes sense with the first one
    second = ask(api, tenant_a, bot["id"], "And for phones?", chat_id=first["chat_id"])

    # Then retrieval ran on a standalone rewrite carrying the first turn's terms
    assert second.status == 200, second.body
    body = second.json
    assert body["retrieval_query"].startswith("And for phones?") and "refund" in body["retrieval_query"]
    assert len(gateway_spy.rewrites) == 1
    # And the answer call saw the conversation, and the answer cites the phone passage
    answer_call = gateway_spy.answers[-1].messages
    assert [m["role"] for m in answer_call] == ["system", "user", "assistant", "user"]
    assert answer_call[1]["content"] == "How many days do I have for a laptop refund?"
    assert answer_call[2]["content"] == first["answer"]
    assert "14 days" in body["answer"] and "14 days" in body["citations"][0]["snippet"]
    # And the rewrite's usage was recorded for the chat and counted in the turn's usage
    events = tenant_rows(tenant_a, UsageEvent, UsageEvent.chat_id == uuid.UUID(first["chat_id"]))
    rewrite = [e for e in events if e.kind.value == "rewrite"]
    assert len(rewrite) == 1 and rewrite[0].total_tokens > 0 and rewrite[0].model == "local/extractive"
    assert rewrite[0].message_id == uuid.UUID(body["user_message_id"])  # the question it rewrote
    answer = next(e for e in events if e.message_id == uuid.UUID(body["message_id"]))
    assert body["usage"]["total_tokens"] == rewrite[0].total_tokens + answer.total_tokens
    chat_counters_match_records(api, tenant_a, first["chat_id"], tenant_rows)


def test_follow_up_without_history_turns_makes_no_rewrite(api, tenant_a, ingest_worker, gateway_spy):
    # Given a bot that keeps no history
    bot = make_bot_profile(api, tenant_a, history_turns=0)
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker, content=HANDBOOK)
    first = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?").json

    # When the user follows up in the same chat
    second = ask(api, tenant_a, bot["id"], "What about phone refunds?", chat_id=first["chat_id"]).json

    # Then the message is used as it is and the model sees no history
    assert second["retrieval_query"] == "What about phone refunds?" and gateway_spy.rewrites == []
    assert [m["role"] for m in gateway_spy.answers[-1].messages] == ["system", "user"]


# -- nothing relevant -----------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True])
def test_bot_without_sources_answers_no_answer_text_without_calling_the_model(api, tenant_a, gateway_spy, stream,
                                                                              tenant_rows):
    # Given a bot with no sources and its own "don't know" text
    bot = make_bot_profile(api, tenant_a, no_answer_text=NO_ANSWER)

    # When the user asks
    response = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?", stream=stream)

    # Then the bot says it does not know, without a model call and at no cost
    assert response.status == 200, response.body
    body = sse_events(response.body)[-1][1] if stream else response.json
    assert body["answer"] == NO_ANSWER and body["citations"] == []
    assert body["usage"] == {"model": bot["model"], "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
                             "cost": None}
    assert gateway_spy.of("complete") == [] and gateway_spy.of("stream") == []
    if stream:
        assert tokens_of(sse_events(response.body)) == NO_ANSWER
    # And the turn is stored, with no usage
    messages = tenant_rows(tenant_a, Message)
    assert [(m.role.value, m.content, m.model) for m in sorted(messages, key=lambda m: m.created_at)] == [
        ("user", "How many days for a laptop refund?", None), ("assistant", NO_ANSWER, None)]
    assert tenant_rows(tenant_a, UsageEvent, UsageEvent.chat_id.is_not(None)) == []
    chat = chat_counters_match_records(api, tenant_a, body["chat_id"], tenant_rows)
    assert (chat["message_count"], chat["total_tokens"]) == (2, 0)


def test_min_score_above_every_chunk_answers_no_answer_text_without_calling_the_model(api, tenant_a, ingest_worker,
                                                                                     gateway_spy):
    # Given a bot with a handbook and a minimum relevance no chunk reaches
    bot = make_bot_profile(api, tenant_a, min_score=0.99, no_answer_text=NO_ANSWER)
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker, content=HANDBOOK)

    # When the user asks something the handbook only loosely matches
    response = ask(api, tenant_a, bot["id"], "What is the capital of France?")

    # Then the bot says it does not know without calling the model
    assert response.status == 200, response.body
    assert response.json["answer"] == NO_ANSWER and response.json["usage"]["total_tokens"] == 0
    assert gateway_spy.answers == []


# -- provider errors ------------------------------------------------------------------------------

def test_provider_auth_error_returns_502_and_keeps_the_users_message(api, tenant_a, ingest_worker, gateway_spy,
                                                                     tenant_rows):
    # Given a bot on a real provider model with a bogus key, and the provider refusing that key
    import litellm  # here, not at import: other tests check that CRUD paths never import it

    bot = make_bot_profile(api, tenant_a, model="gpt-4o-mini", provider_api_key="sk-bogus-key-1234567890")
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker, content=HANDBOOK)
    gateway_spy.extra["mock_response"] = litellm.AuthenticationError(
        message="Incorrect API key provided: sk-bogus-key-1234567890", llm_provider="openai", model="gpt-4o-mini")

    # When the user asks
    response = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?")

    # Then it is a 502 that says what to fix, without the key
    error = response.json["error"]
    assert response.status == 502 and error["code"] == "provider_auth_failed", response.body
    assert "gpt-4o-mini" in error["message"] and "provider key" in error["message"]
    assert "sk-bogus" not in response.body.decode()
    assert gateway_spy.answers[0].kwargs["api_key"] == "sk-bogus-key-1234567890"  # the decrypted key was used
    # And the user's message is stored in the chat, flagged with the error; no answer, no usage
    kept = {d["field"]: d["value"] for d in error["details"]}  # where the message was kept
    chat_id = kept["chat_id"]
    messages = api.get(f"/v1/chat/{chat_id}/messages", token=tenant_a.token).json
    assert [(m["role"], m["content"], m["error"]) for m in messages] == [
        ("user", "How many days for a laptop refund?", "provider_auth_failed")]
    assert messages[0]["id"] == kept["user_message_id"]
    chat = chat_counters_match_records(api, tenant_a, chat_id, tenant_rows)
    assert (chat["message_count"], chat["total_tokens"]) == (1, 0)


def test_provider_outage_on_follow_up_keeps_message_and_rewrite_usage(api, tenant_a, bot, handbook, gateway_spy,
                                                                      tenant_rows):
    # Given a chat with one turn, and then the provider failing for answers (the rewrite still works)
    first = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?").json

    def fail_answers(call):
        if call.kind == "complete" and not call.is_rewrite:
            raise UpstreamUnavailable("The model provider is unavailable for model 'local/extractive'; retry later.")

    gateway_spy.before = fail_answers

    # When the user follows up
    response = ask(api, tenant_a, bot["id"], "And for phones?", chat_id=first["chat_id"])

    # Then it is a 502 envelope with a clear message, naming where the message was kept
    error = response.json["error"]
    assert response.status == 502 and error["code"] == "upstream_unavailable", response.body
    assert "retry later" in error["message"]
    assert {d["field"]: d["value"] for d in error["details"]}["chat_id"] == first["chat_id"]
    # And the follow-up is stored with its error, after the first turn; the rewrite's usage is counted
    messages = api.get(f"/v1/chat/{first['chat_id']}/messages", token=tenant_a.token).json
    assert [(m["role"], m["error"]) for m in messages] == [
        ("user", None), ("assistant", None), ("user", "upstream_unavailable")]
    assert "refund" in messages[2]["retrieval_query"]
    chat = chat_counters_match_records(api, tenant_a, first["chat_id"], tenant_rows)
    assert chat["message_count"] == 3 and chat["total_tokens"] > first["usage"]["total_tokens"]

    # And a later turn works and does not feed the failed message to the model as history
    gateway_spy.before = None
    third = ask(api, tenant_a, bot["id"], "How much does express shipping cost?", chat_id=first["chat_id"])
    assert third.status == 200 and "15 euros" in third.json["answer"]
    history = [m["content"] for m in gateway_spy.answers[-1].messages[1:-1]]
    assert "And for phones?" not in history
    assert chat_counters_match_records(api, tenant_a, first["chat_id"], tenant_rows)["message_count"] == 5


# -- cost -----------------------------------------------------------------------------------------

def test_priced_model_cost_adds_up_across_turns(api, tenant_a, ingest_worker, gateway_spy, tenant_rows):
    # Given a bot on a priced provider model (answers mocked through LiteLLM's mock_response)
    bot = make_bot_profile(api, tenant_a, model="gpt-4o-mini", provider_api_key="sk-test-0000000000")
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker, content=HANDBOOK)
    gateway_spy.extra["mock_response"] = "Laptop refunds are accepted within 30 days [1]."

    # When the user has two turns (the second with a rewrite call)
    first = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?").json
    second = ask(api, tenant_a, bot["id"], "And for phones?", chat_id=first["chat_id"]).json

    # Then every call's cost is recorded, and the chat's cost is their sum
    events = tenant_rows(tenant_a, UsageEvent, UsageEvent.chat_id == uuid.UUID(first["chat_id"]))
    assert len(events) == 3 and all(e.cost and e.cost > 0 for e in events)
    chat = chat_counters_match_records(api, tenant_a, first["chat_id"], tenant_rows)
    assert chat["cost"] == pytest.approx(sum(e.cost for e in events))
    assert chat["cost"] == pytest.approx(first["usage"]["cost"] + second["usage"]["cost"])
    assert first["answer"] == "Laptop refunds are accepted within 30 days [1]." and len(first["citations"]) == 1


# -- streaming ------------------------------------------------------------------------------------

def test_stream_renumbers_citations_as_they_stream(api, tenant_a, bot, handbook, gateway_spy):
    # Given a model that cites passage 2 before passage 1 and a passage that does not exist, in
    # 3-character deltas (LiteLLM's mock stream), so markers arrive split
    gateway_spy.extra["mock_response"] = "Phones take 14 days [2]. Laptops take 30 days [1][7]."

    # When the user asks with stream: true
    response = ask(api, tenant_a, bot["id"], "How many days for laptop and phone refunds?", stream=True, top_k=3)

    # Then the streamed tokens are the final answer, renumbered in order of citation
    events = sse_events(response.body)
    done = events[-1][1]
    assert events[-1][0] == "done", events
    assert tokens_of(events) == done["answer"] == "Phones take 14 days [1]. Laptops take 30 days [2]."
    # And citation 1 is the prompt's passage 2, citation 2 its passage 1; [7] pointed at nothing
    context = gateway_spy.answers[-1].messages[-1]["content"]
    passages = dict(re.findall(r"\[(\d+)\] (?:Title: [^\n]*\n)?(.*?)(?=\n\n\[\d+\] |\n</context>)", context, re.S))
    assert len(passages) == 3
    assert [c["snippet"] for c in done["citations"]] == [" ".join(passages[n].split()) for n in ("2", "1")]
    assert [c["index"] for c in done["citations"]] == [1, 2]
    assert done["usage"]["prompt_tokens"] > 0 and done["usage"]["completion_tokens"] > 0


def test_stream_provider_error_sends_error_event_and_keeps_the_message(api, tenant_a, bot, handbook, gateway_spy,
                                                                       tenant_rows):
    # Given a provider that fails once the stream is open
    gateway_spy.extra["mock_response"] = "Exception: mock_streaming_error"

    # When the user asks with stream: true
    response = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?", stream=True)

    # Then the stream started and ends with an error event instead of done
    assert response.status == 200
    events = sse_events(response.body)
    assert [name for name, _ in events] == ["start", "error"], events
    assert events[-1][1]["code"] == "upstream_unavailable" and "retry later" in events[-1][1]["message"]
    # And the user's message is stored in the chat the start event named
    chat_id = events[0][1]["chat_id"]
    messages = tenant_rows(tenant_a, Message, Message.chat_id == uuid.UUID(chat_id))
    assert [(m.role.value, m.error) for m in messages] == [("user", "upstream_unavailable")]
    assert chat_counters_match_records(api, tenant_a, chat_id, tenant_rows)["message_count"] == 1


def test_stream_unexpected_error_sends_generic_error_event(api, tenant_a, bot, handbook, gateway_spy, tenant_rows):
    # Given a bug that surfaces while the answer streams
    def broken(call):
        if call.kind == "stream":
            raise RuntimeError("secret internals")

    gateway_spy.before = broken

    # When the user asks with stream: true
    response = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?", stream=True)

    # Then the stream ends with a generic internal_error event that leaks nothing
    events = sse_events(response.body)
    assert [name for name, _ in events] == ["start", "error"]
    assert events[-1][1]["code"] == "internal_error" and "secret" not in response.body.decode()
    assert "x-request-id" in events[-1][1]["message"] and response.headers["x-request-id"]
    assert tenant_rows(tenant_a, Chat) == []


# -- transactions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True])
def test_no_transaction_is_open_while_models_work(api, tenant_a, bot, handbook, gateway_spy, open_transactions,
                                                  stream):
    # Given a chat with one turn, and a probe run at every model call (embedding, rewrite, answer)
    first = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?").json
    seen: list[tuple[str, bool]] = []
    gateway_spy.before = lambda call: seen.append((call.kind, open_transactions()))

    # When the user follows up
    response = ask(api, tenant_a, bot["id"], "And for phones?", chat_id=first["chat_id"], stream=stream)

    # Then no database transaction was open during any of them
    assert response.status == 200, response.body
    assert sorted(kind for kind, _ in seen) == sorted(["complete", "embed", "stream" if stream else "complete"])
    assert [kind for kind, is_open in seen if is_open] == []
    # And none is left open after the turn
    assert not open_transactions()


@pytest.mark.parametrize("stream", [False, True])
def test_a_model_answer_the_databases_cannot_store_is_cleaned_not_lost(api, tenant_a, bot, handbook, gateway_spy,
                                                                       stream):
    # Given a model whose answer holds a NUL and an unpaired surrogate (PostgreSQL refuses both)
    gateway_spy.extra["mock_response"] = "Laptops take 30 days\x00 [1] \ud800."

    # When the user asks (the model is paid for either way)
    response = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?", stream=stream)

    # Then the turn is answered and kept, with the unstorable characters dropped or replaced
    assert response.status == 200, response.body
    answer = sse_events(response.body)[-1][1] if stream else response.json
    assert answer["answer"] == "Laptops take 30 days [1] \ufffd."
    history = api.get(f"/v1/chat/{answer['chat_id']}/messages", token=tenant_a.token)
    assert history.status == 200, history.body
    assert history.json[-1]["content"] == "Laptops take 30 days [1] \ufffd."
