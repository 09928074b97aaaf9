"""The OpenAI-compatible endpoint through the real chat handler (Lambda events): OpenAI's request
and response shapes on a knowledge bot, history from the request or a stored chat, overrides
within the bot's limits, OpenAI-style errors naming the parameter, streaming chunks, and the same
auth, scopes, quotas and isolation as /v1/chat."""

from __future__ import annotations

import json
import uuid

import pytest

from minirag.db.models import UsageEvent
from tests.conftest import operator
from tests.factories import make_bot_profile

COMPLETIONS = "/v1/openai/chat/completions"


def ask(api, tenant, bot_id: str, *messages: tuple[str, str], **extra):
    body = {"model": bot_id, "messages": [{"role": r, "content": c} for r, c in messages], **extra}
    return api.post(COMPLETIONS, body, token=tenant.token if hasattr(tenant, "token") else tenant)


def openai_error(response, status: int, param: str | None, kind: str = "invalid_request_error") -> dict:
    assert response.status == status, response.body
    error = response.json["error"]
    assert error["type"] == kind and error["param"] == param, error
    assert error["message"] and response.json["detail"] == error["message"]
    return error


def stream_chunks(response) -> list[dict]:
    assert response.status == 200, response.body
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [block.removeprefix("data: ") for block in response.body.decode().split("\n\n") if block]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def test_completion_answers_in_openai_shape_with_citations_usage_and_a_stored_chat(api, tenant_a, bot, handbook,
                                                                                   tenant_rows):
    # When a client asks as OpenAI's SDK would
    response = ask(api, tenant_a, bot["id"], ("user", "How long do laptop refunds take?"))

    # Then the answer is a chat.completion whose content cites [1], listed in `citations`
    assert response.status == 200, response.body
    body = response.json
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == bot["id"] and isinstance(body["created"], int)
    [choice] = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant" and "30 days" in choice["message"]["content"]
    assert "[1]" in choice["message"]["content"]
    assert body["citations"][0]["index"] == 1 and body["citations"][0]["source_id"] == handbook["id"]
    # And usage is filled, as recorded for the tenant's stats
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    events = tenant_rows(tenant_a, UsageEvent, UsageEvent.chat_id == uuid.UUID(body["chat_id"]))
    assert sum(e.total_tokens for e in events) == usage["total_tokens"]
    # And the turn is a stored chat the operator can read
    chat = api.get(f"/v1/chat/{body['chat_id']}", token=tenant_a.token)
    assert chat.status == 200 and chat.json["message_count"] == 2


def test_earlier_messages_are_the_history_and_system_messages_add_instructions(api, tenant_a, bot, handbook,
                                                                              gateway_spy):
    # When the client sends the conversation so far (no stored chat) and a system message
    response = ask(api, tenant_a, bot["id"],
                   ("system", "Answer in one short sentence."),
                   ("user", "Do you refund laptops?"),
                   ("assistant", "Yes, laptop refunds are accepted within 30 days [1]."),
                   ("user", "And phones?"))

    # Then the follow-up was rewritten from that history (a standalone query) and answered with it
    assert response.status == 200, response.body
    [rewrite] = gateway_spy.rewrites
    assert "Do you refund laptops?" in json.dumps(rewrite.messages)
    [answer] = gateway_spy.answers
    roles = [m["role"] for m in answer.messages]
    assert roles[0] == "system" and "Answer in one short sentence." in answer.messages[0]["content"]
    assert {"role": "assistant", "content": "Yes, laptop refunds are accepted within 30 days [1]."} in answer.messages
    assert "14 days" in response.json["choices"][0]["message"]["content"]


def test_metadata_chat_id_continues_a_stored_chat(api, tenant_a, bot, handbook):
    first = ask(api, tenant_a, bot["id"], ("user", "Do you refund laptops?"))
    chat_id = first.json["chat_id"]

    second = ask(api, tenant_a, bot["id"], ("user", "And phones?"), metadata={"chat_id": chat_id})

    assert second.status == 200, second.body
    assert second.json["chat_id"] == chat_id
    assert api.get(f"/v1/chat/{chat_id}", token=tenant_a.token).json["message_count"] == 4


def test_user_continues_that_end_users_chat(api, tenant_a, bot, handbook):
    # When one end user asks twice and another once
    first = ask(api, tenant_a, bot["id"], ("user", "Do you refund laptops?"), user="customer-17")
    again = ask(api, tenant_a, bot["id"], ("user", "And phones?"), user="customer-17")
    other = ask(api, tenant_a, bot["id"], ("user", "Do you refund laptops?"), user="customer-42")

    # Then the first end user's turns share one chat, the other has their own
    assert first.status == again.status == other.status == 200
    assert again.json["chat_id"] == first.json["chat_id"] != other.json["chat_id"]
    assert api.get(f"/v1/chat/{first.json['chat_id']}", token=tenant_a.token).json["message_count"] == 4


def test_temperature_and_max_tokens_override_the_bots_within_its_limit(api, tenant_a, handbook, bot, gateway_spy):
    # When the request sets both (the bot's max_tokens is its limit)
    response = ask(api, tenant_a, bot["id"], ("user", "How long do laptop refunds take?"),
                   temperature=0.9, max_tokens=64)

    # Then the model was called with them
    assert response.status == 200, response.body
    [answer] = gateway_spy.answers
    assert answer.kwargs["temperature"] == 0.9 and answer.kwargs["max_tokens"] == 64

    # And more than the bot allows, or both spellings, are 400s naming the parameter
    too_many = ask(api, tenant_a, bot["id"], ("user", "Hi"), max_completion_tokens=bot["max_tokens"] + 1)
    assert f"at most {bot['max_tokens']}" in openai_error(too_many, 400, "max_tokens")["message"]
    openai_error(ask(api, tenant_a, bot["id"], ("user", "Hi"), temperature=2.5), 400, "temperature")
    openai_error(ask(api, tenant_a, bot["id"], ("user", "Hi"), max_tokens=5, max_completion_tokens=5),
                 400, "max_tokens")


@pytest.mark.parametrize(("parameter", "value"), [
    ("tools", [{"type": "function", "function": {"name": "f"}}]), ("tool_choice", "auto"), ("n", 2),
    ("logprobs", True), ("top_logprobs", 2), ("response_format", {"type": "json_object"}), ("stop", ["\n"]),
])
def test_unsupported_parameters_are_openai_style_400s_naming_them(api, tenant_a, bot, parameter, value):
    response = ask(api, tenant_a, bot["id"], ("user", "Hi"), **{parameter: value})
    error = openai_error(response, 400, parameter)
    assert error["code"] == "unsupported_parameter" and "unsupported parameter" in error["message"]


def test_bad_requests_are_400s_naming_the_parameter(api, tenant_a, bot):
    openai_error(ask(api, tenant_a, bot["id"], ("user", "Hi"), frobnicate=1), 400, "frobnicate")
    openai_error(ask(api, tenant_a, bot["id"], ("user", "Hi"), ("assistant", "Hello")), 400, "messages")
    openai_error(ask(api, tenant_a, bot["id"]), 400, "messages")
    openai_error(ask(api, tenant_a, "gpt-4o", ("user", "Hi")), 400, "model")
    tool = api.post(COMPLETIONS, {"model": bot["id"], "messages": [{"role": "tool", "content": "x"}]},
                    token=tenant_a.token)
    openai_error(tool, 400, "messages.0.role")


def test_another_tenants_bot_or_chat_is_a_404_like_a_missing_one(api, tenant_a, tenant_b, bot, handbook):
    # Given a chat of A's
    chat_id = ask(api, tenant_a, bot["id"], ("user", "Do you refund laptops?")).json["chat_id"]
    b_bot = make_bot_profile(api, tenant_b)

    # When B names A's bot, or A's chat on B's bot
    foreign = ask(api, tenant_b, bot["id"], ("user", "Hi"))
    missing = ask(api, tenant_b, str(uuid.uuid4()), ("user", "Hi"))
    foreign_chat = ask(api, tenant_b, b_bot["id"], ("user", "Hi"), metadata={"chat_id": chat_id})
    missing_chat = ask(api, tenant_b, b_bot["id"], ("user", "Hi"), metadata={"chat_id": str(uuid.uuid4())})

    # Then each is the same 404 as a missing one, naming OpenAI's parameter
    openai_error(foreign, 404, "model")
    assert foreign.body == missing.body
    openai_error(foreign_chat, 404, "metadata.chat_id")
    assert foreign_chat.body == missing_chat.body
    # And B's models list none of A's bots
    assert [m["id"] for m in api.get("/v1/openai/models", token=tenant_b.token).json["data"]] == [b_bot["id"]]


def test_models_lists_the_active_bots_and_a_publishable_key_sees_its_own(api, tenant_a, bot):
    # Given a second bot, and a deactivated third
    second = make_bot_profile(api, tenant_a, name="Sales")
    gone = make_bot_profile(api, tenant_a, name="Old")
    assert api.delete(f"/v1/bot-profiles/{gone['id']}", token=tenant_a.token).status in (200, 204)

    # Then the models are the active bots, with their names
    listed = api.get("/v1/openai/models", token=tenant_a.token)
    assert listed.status == 200 and listed.json["object"] == "list"
    assert {(m["id"], m["name"], m["object"]) for m in listed.json["data"]} == {
        (bot["id"], bot["name"], "model"), (second["id"], "Sales", "model")}

    # And a key bound to one bot lists that bot, and is refused another
    key = api.post("/v1/api-tokens", {"name": "widget", "bot_profile_id": second["id"]}, token=tenant_a.token)
    assert key.status == 201, key.body
    token = key.json["raw_token"]
    assert [m["id"] for m in api.get("/v1/openai/models", token=token).json["data"]] == [second["id"]]
    openai_error(ask(api, token, bot["id"], ("user", "Hi")), 404, "model")


def test_credentials_and_scopes_are_those_of_chat(api, tenant_a, bot):
    # No token, a bad one: OpenAI's authentication_error
    anonymous = api.post(COMPLETIONS, {"model": bot["id"], "messages": [{"role": "user", "content": "Hi"}]})
    openai_error(anonymous, 401, None, kind="authentication_error")
    # A token that may only read: OpenAI's permission_error naming the permission
    read_only = api.post("/v1/api-tokens", {"name": "ro", "scopes": ["read"]}, token=tenant_a.token).json["raw_token"]
    error = openai_error(ask(api, read_only, bot["id"], ("user", "Hi")), 403, "permission", kind="permission_error")
    assert "requires chat" in error["details"][0]["reason"]


def test_the_days_chat_turns_quota_applies(api, tenant_a, bot, handbook):
    code, out, err = operator("set-limits", tenant_a.slug, "chat_turns_per_day=1")
    assert code == 0, (out, err)
    assert ask(api, tenant_a, bot["id"], ("user", "Do you refund laptops?")).status == 200

    refused = ask(api, tenant_a, bot["id"], ("user", "And phones?"))

    openai_error(refused, 429, "chat_turns_per_day", kind="rate_limit_error")
    assert int(refused.headers["retry-after"]) >= 1


def test_streamed_completion_is_openai_chunks_ending_with_done(api, tenant_a, bot, handbook):
    # When the client streams
    response = ask(api, tenant_a, bot["id"], ("user", "How long do laptop refunds take?"), stream=True)

    # Then: a role chunk, content deltas, a final chunk with finish_reason, citations and usage, [DONE]
    chunks = stream_chunks(response)
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"} and len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop" and final["choices"][0]["delta"] == {}
    assert "30 days" in text and "[1]" in text and final["citations"][0]["index"] == 1
    assert final["usage"]["total_tokens"] > 0
    # And the streamed text is exactly the stored answer
    messages = api.get(f"/v1/chat/{final['chat_id']}/messages", token=tenant_a.token).json
    assert messages[-1]["role"] == "assistant" and messages[-1]["content"] == text


def test_stream_options_include_usage_sends_usage_in_its_own_last_chunk(api, tenant_a, bot, handbook):
    response = ask(api, tenant_a, bot["id"], ("user", "How long do laptop refunds take?"), stream=True,
                   stream_options={"include_usage": True})

    chunks = stream_chunks(response)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and "usage" not in chunks[-2]
    assert all("usage" not in c for c in chunks[:-1])


def test_a_stream_that_fails_after_the_start_ends_with_an_error_chunk(api, tenant_a, bot, handbook, gateway_spy):
    from minirag.errors import UpstreamUnavailable

    def provider_down(call):
        if call.kind == "stream":
            raise UpstreamUnavailable("the model provider is unavailable")

    gateway_spy.before = provider_down
    response = ask(api, tenant_a, bot["id"], ("user", "How long do laptop refunds take?"), stream=True)

    chunks = stream_chunks(response)
    assert chunks[-1]["error"]["type"] == "api_error" and chunks[-1]["error"]["code"] == "upstream_unavailable"
