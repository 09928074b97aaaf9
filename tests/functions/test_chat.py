"""ChatFunction through its real Lambda handler (API Gateway v2 events routed by template.yaml):
a chat turn over an ingested source with citations and usage, chat metadata and history, the
request contract (422s), tenant and bot isolation (404s), /v1/retrieve, and the buffered SSE
answer API Gateway returns. Offline models: `local/hash` embeddings, `local/extractive` answers."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from minirag.db.models import Chat, Chunk, Message, UsageEvent
from tests.assertions import assert_error
from tests.factories import make_bot_profile, make_ingested_source, make_uploaded_source

MISSING_ID = "00000000-0000-4000-8000-000000000000"
HANDBOOK = (
    "# Refunds\n\nLaptop refunds are accepted within 30 days of purchase.\n\n"
    "# Shipping\n\nOrders ship within 2 business days. Express shipping costs 15 euros.\n\n"
    "# Support\n\nThe support desk answers email within one business day."
)
FAQ_JSONL = b"\n".join(json.dumps(row).encode() for row in [
    {"id": "faq-warranty", "title": "Warranty policy",
     "text": "Every laptop carries a two year warranty covering battery defects."},
    {"id": "faq-returns", "title": "Returns",
     "text": "Returned items must be in their original packaging."},
])
MARKER = re.compile(r"\[(\d+)\]")


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


@pytest.fixture
def handbook(api, tenant_a, bot, ingest_worker):
    return make_ingested_source(api, tenant_a, bot["id"], ingest_worker, name="Handbook", content=HANDBOOK)


def ask(api, tenant, bot_id: str, message: str, **extra):
    return api.post("/v1/chat", {"bot_profile_id": bot_id, "message": message, **extra}, token=tenant.token)


def sse_events(body: bytes) -> list[tuple[str, dict]]:
    events = []
    for block in body.decode().split("\n\n"):
        if block.strip():
            fields = dict(line.split(": ", 1) for line in block.splitlines())
            events.append((fields["event"], json.loads(fields["data"])))
    return events


# -- a turn ---------------------------------------------------------------------------------------

def test_chat_answers_with_markers_that_index_into_citations(api, tenant_a, bot, handbook, tenant_rows):
    # Given a bot with an ingested handbook
    # When the user asks about refunds
    response = ask(api, tenant_a, bot["id"], "How many days do I have to ask for a laptop refund?")

    # Then the answer quotes the refund passage with [n] markers that index into citations
    assert response.status == 200, response.body
    body = response.json
    assert "30 days" in body["answer"]
    markers = {int(n) for n in MARKER.findall(body["answer"])}
    assert markers and markers == {c["index"] for c in body["citations"]}
    for number, citation in enumerate(body["citations"], start=1):
        assert citation["index"] == number
    # And the cited chunk is the handbook's refund chunk, by source, document and chunk id
    refund = body["citations"][0]
    assert refund["source_id"] == handbook["id"] and refund["title"] == "Handbook"
    assert "30 days" in refund["snippet"] and 0 < refund["score"] <= 1
    chunk = tenant_rows(tenant_a, Chunk, Chunk.id == uuid.UUID(refund["chunk_id"]))
    assert len(chunk) == 1 and str(chunk[0].document_id) == refund["document_id"]
    assert str(chunk[0].source_id) == handbook["id"] and "30 days" in chunk[0].text
    # And the usage is counted and consistent
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert body["retrieval_query"] == "How many days do I have to ask for a laptop refund?"


def test_chat_citation_names_title_and_external_id_of_jsonl_document(api, tenant_a, bot, ingest_worker):
    # Given a JSON Lines upload whose documents have ids and titles
    source = make_uploaded_source(api, tenant_a, bot["id"], ingest_worker, "faq.jsonl", FAQ_JSONL, name="FAQ")

    # When the user asks about the warranty
    response = ask(api, tenant_a, bot["id"], "How long is the laptop warranty?")

    # Then the answer cites that document by its title and external id
    assert response.status == 200, response.body
    body = response.json
    assert "two year warranty" in body["answer"] and "[1]" in body["answer"]
    citation = body["citations"][0]
    assert (citation["source_id"], citation["title"], citation["external_id"]) == (
        source["id"], "Warranty policy", "faq-warranty")


def test_get_chat_counters_equal_sum_of_usage_events_and_messages(api, tenant_a, bot, handbook, tenant_rows):
    # Given a chat with two turns
    first = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?").json
    second = ask(api, tenant_a, bot["id"], "How much does express shipping cost?", chat_id=first["chat_id"]).json

    # When the chat is read
    response = api.get(f"/v1/chat/{first['chat_id']}", token=tenant_a.token)

    # Then its counters are the sums of what was recorded for it
    assert response.status == 200, response.body
    chat = response.json
    chat_id = uuid.UUID(first["chat_id"])
    events = tenant_rows(tenant_a, UsageEvent, UsageEvent.chat_id == chat_id)
    messages = tenant_rows(tenant_a, Message, Message.chat_id == chat_id)
    assert chat["message_count"] == len(messages) == 4
    assert sorted(e.kind.value for e in events) == ["chat", "chat", "rewrite"]
    assert chat["prompt_tokens"] == sum(e.prompt_tokens for e in events) > 0
    assert chat["completion_tokens"] == sum(e.completion_tokens for e in events) > 0
    assert chat["total_tokens"] == chat["prompt_tokens"] + chat["completion_tokens"]
    assert chat["total_tokens"] == first["usage"]["total_tokens"] + second["usage"]["total_tokens"]
    assert chat["bot_profile_id"] == bot["id"] and chat["title"] == "How many days for a laptop refund?"
    assert chat["cost"] is None  # offline models have no price


def test_list_chat_messages_paginates_oldest_first(api, tenant_a, bot, handbook):
    # Given a chat with two turns (four messages)
    first = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?").json
    second = ask(api, tenant_a, bot["id"], "When does the support desk answer?", chat_id=first["chat_id"]).json
    path = f"/v1/chat/{first['chat_id']}/messages"

    # When the history is read three messages at a time
    page1 = api.get(path, token=tenant_a.token, query={"limit": 3})
    page2 = api.get(path, token=tenant_a.token, query={"limit": 3, "cursor": page1.headers.get("x-next-cursor")})

    # Then it comes oldest first, each question before its answer, across the two pages
    assert page1.status == 200 and page2.status == 200, (page1.body, page2.body)
    assert page1.headers.get("x-next-cursor") and page2.headers.get("x-next-cursor") is None
    messages = page1.json + page2.json
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert [m["id"] for m in messages] == [first["user_message_id"], first["message_id"],
                                           second["user_message_id"], second["message_id"]]
    assert messages[0]["content"] == "How many days for a laptop refund?"
    assert messages[1]["content"] == first["answer"] and messages[1]["citations"] == first["citations"]
    assert messages[1]["model"] == "local/extractive" and messages[1]["prompt_tokens"] > 0
    assert messages[2]["retrieval_query"] == second["retrieval_query"]
    assert all(m["error"] is None for m in messages)


# -- the request contract -------------------------------------------------------------------------

@pytest.mark.parametrize("change, field", [
    ({"message": ""}, "message"),
    ({"message": "   "}, "message"),
    ({"message": "x" * 8001}, "message"),
    ({"top_k": 0}, "top_k"),
    ({"top_k": 51}, "top_k"),
    ({"temperature": 0.5}, "temperature"),
    ({"chat_id": "not-a-uuid"}, "chat_id"),
    ({"bot_profile_id": "nope"}, "bot_profile_id"),
    ({"stream": "sometimes"}, "stream"),
])
def test_chat_with_invalid_body_returns_422_naming_field(api, tenant_a, bot, change, field, tenant_rows):
    # Given a valid request but for one field
    body = {"bot_profile_id": bot["id"], "message": "Hello?", **change}

    # When it is sent
    response = api.post("/v1/chat", body, token=tenant_a.token)

    # Then it is a 422 that names the field, and nothing was stored
    assert_error(response, 422, "validation_error", field=field)
    assert tenant_rows(tenant_a, Chat) == []


def test_chat_without_message_returns_422_naming_message(api, tenant_a, bot):
    response = api.post("/v1/chat", {"bot_profile_id": bot["id"]}, token=tenant_a.token)

    assert_error(response, 422, "validation_error", field="message")


def test_chat_without_token_returns_401(api, bot):
    response = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": "Hello?"})

    assert_error(response, 401, "unauthenticated")


# -- isolation ------------------------------------------------------------------------------------

def test_chat_with_bot_of_another_tenant_returns_404_naming_bot_profile_id(api, tenant_a, tenant_b, bot, handbook,
                                                                            tenant_rows):
    # Given tenant A's bot with a handbook
    # When tenant B asks A's bot, and a bot id that does not exist
    foreign = ask(api, tenant_b, bot["id"], "How many days for a laptop refund?")
    missing = ask(api, tenant_b, MISSING_ID, "How many days for a laptop refund?")

    # Then both are the same 404 naming bot_profile_id, and nothing was stored for anyone
    assert_error(foreign, 404, "not_found", field="bot_profile_id")
    assert foreign.json == missing.json
    assert tenant_rows(tenant_a, Chat) == [] and tenant_rows(tenant_b, Chat) == []


def test_chat_continuing_chat_of_another_tenant_returns_404_naming_chat_id(api, tenant_a, tenant_b, bot, handbook,
                                                                          tenant_rows):
    # Given a chat of tenant A, and a bot of tenant B
    chat = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?").json
    bot_b = make_bot_profile(api, tenant_b)

    # When tenant B tries to continue A's chat with its own bot
    response = ask(api, tenant_b, bot_b["id"], "And for phones?", chat_id=chat["chat_id"])

    # Then it is a 404 naming chat_id; B stored nothing and A's chat is unchanged
    assert_error(response, 404, "not_found", field="chat_id")
    assert tenant_rows(tenant_b, Chat) == [] and tenant_rows(tenant_b, Message) == []
    assert api.get(f"/v1/chat/{chat['chat_id']}", token=tenant_a.token).json["message_count"] == 2


def test_chat_continuing_chat_of_another_bot_returns_404_naming_chat_id(api, tenant_a, bot, handbook, tenant_rows):
    # Given a chat with one bot of tenant A, and a second bot of A
    chat = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?").json
    other = make_bot_profile(api, tenant_a, name="Other bot")

    # When the chat is continued with the other bot
    response = ask(api, tenant_a, other["id"], "And for phones?", chat_id=chat["chat_id"])

    # Then it is a 404 naming chat_id, and the chat has only its first turn
    assert_error(response, 404, "not_found", field="chat_id")
    assert len(tenant_rows(tenant_a, Message)) == 2 and len(tenant_rows(tenant_a, Chat)) == 1


def test_get_chat_and_messages_of_another_tenant_return_404(api, tenant_a, tenant_b, bot, handbook):
    # Given a chat of tenant A
    chat = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?").json

    # When tenant B reads it and its messages
    foreign = [api.get(f"/v1/chat/{chat['chat_id']}", token=tenant_b.token),
               api.get(f"/v1/chat/{chat['chat_id']}/messages", token=tenant_b.token)]
    missing = [api.get(f"/v1/chat/{MISSING_ID}", token=tenant_b.token),
               api.get(f"/v1/chat/{MISSING_ID}/messages", token=tenant_b.token)]

    # Then both are 404s, identical to those for an id that does not exist
    for got, expected in zip(foreign, missing, strict=True):
        assert_error(got, 404, "not_found")
        assert got.json == expected.json


# -- /v1/retrieve ---------------------------------------------------------------------------------

def test_retrieve_returns_ranked_chunks_with_scores(api, tenant_a, bot, handbook):
    # Given a bot with an ingested handbook
    # When chunks are retrieved for a query, without a model
    response = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": "express shipping cost", "top_k": 2},
                        token=tenant_a.token)

    # Then the best chunk answers it, ranks count from 1 and scores descend
    assert response.status == 200, response.body
    data = response.json["data"]
    assert len(data) == 2 and [c["rank"] for c in data] == [1, 2]
    assert "Express shipping costs 15 euros" in data[0]["text"] and data[0]["source_id"] == handbook["id"]
    assert data[0]["score"] >= data[1]["score"] and 0 < data[0]["relevance"] <= 1


def test_retrieve_on_bot_of_another_tenant_returns_404(api, tenant_a, tenant_b, bot, handbook):
    response = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": "laptop refund"}, token=tenant_b.token)

    assert_error(response, 404, "not_found", field="bot_profile_id")


def test_bot_of_another_tenant_never_returns_its_chunks(api, tenant_a, tenant_b, bot, handbook, ingest_worker):
    # Given tenant A's handbook and tenant B's own bot with its own source on the same subject
    bot_b = make_bot_profile(api, tenant_b)
    source_b = make_ingested_source(api, tenant_b, bot_b["id"], ingest_worker, name="B notes",
                                    content="Laptop refunds at B take a week.")

    # When tenant B retrieves and chats with words of A's handbook
    retrieved = api.post("/v1/retrieve", {"bot_profile_id": bot_b["id"], "query": "laptop refunds 30 days purchase",
                                          "top_k": 20}, token=tenant_b.token)
    answered = ask(api, tenant_b, bot_b["id"], "Are laptop refunds accepted within 30 days of purchase?")

    # Then only B's chunks come back
    assert retrieved.status == 200 and answered.status == 200
    assert {c["source_id"] for c in retrieved.json["data"]} == {source_b["id"]}
    assert {c["source_id"] for c in answered.json["citations"]} <= {source_b["id"]}
    assert "30 days" not in answered.json["answer"]


@pytest.mark.parametrize("change, field", [({"top_k": 0}, "top_k"), ({"query": ""}, "query"),
                                           ({"query": " \n"}, "query"),
                                           ({"mode": "magic"}, "mode"), ({"extra": 1}, "extra")])
def test_retrieve_with_invalid_body_returns_422_naming_field(api, tenant_a, bot, change, field):
    response = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": "refunds", **change},
                        token=tenant_a.token)

    assert_error(response, 422, "validation_error", field=field)


# -- streaming through API Gateway (buffered) ---------------------------------------------------

def test_chat_stream_returns_start_tokens_and_done(api, tenant_a, bot, handbook):
    # Given a bot with an ingested handbook
    # When the user asks with stream: true through the Lambda handler
    response = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?", stream=True)

    # Then the body is Server-Sent Events: start, several tokens, done
    assert response.status == 200, response.body
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.body)
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done" and names.count("token") >= 3
    assert set(names[1:-1]) == {"token"}
    # And the tokens concatenate to the answer, which carries citations and usage like the JSON answer
    done = events[-1][1]
    assert "".join(data["text"] for name, data in events if name == "token") == done["answer"]
    assert done["chat_id"] == events[0][1]["chat_id"] and "30 days" in done["answer"]
    assert done["citations"][0]["source_id"] == handbook["id"] and done["usage"]["total_tokens"] > 0
    # And the turn is stored like a JSON one
    stored = api.get(f"/v1/chat/{done['chat_id']}/messages", token=tenant_a.token).json
    assert [m["content"] for m in stored] == ["How many days for a laptop refund?", done["answer"]]


def test_chat_stream_with_foreign_bot_returns_404_before_streaming(api, tenant_a, tenant_b, bot):
    response = ask(api, tenant_b, bot["id"], "How many days for a laptop refund?", stream=True)

    assert_error(response, 404, "not_found", field="bot_profile_id")
