"""ChatFunction's operator routes through the real Lambda handler: `GET /v1/chat` (the tenant's
chats, newest first, filtered by bot and creation time) and `PATCH
/v1/chat/{id}/messages/{mid}/feedback` (a rating and comment on an assistant answer). The bots have
no sources, so each turn answers the bot's no-answer text without a model call."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from minirag.db.models import Message
from tests.assertions import assert_error
from tests.factories import make_bot_profile

MISSING_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


def ask(api, tenant, bot_id: str, message: str, **extra):
    response = api.post("/v1/chat", {"bot_profile_id": bot_id, "message": message, **extra}, token=tenant.token)
    assert response.status == 200, response.body
    return response.json


def list_chats(api, tenant, **query):
    return api.get("/v1/chat", token=tenant.token, query=query)


def feedback_path(chat_id: str, message_id: str) -> str:
    return f"/v1/chat/{chat_id}/messages/{message_id}/feedback"


# -- GET /v1/chat -----------------------------------------------------------------------------------

def test_list_chats_pages_newest_first_with_title_and_message_count(api, tenant_a, bot):
    # Given three chats, the first one with two turns
    first = ask(api, tenant_a, bot["id"], "  How many   days for a laptop refund?  ")
    ask(api, tenant_a, bot["id"], "And for a phone?", chat_id=first["chat_id"])
    second = ask(api, tenant_a, bot["id"], "Where is the office? " + "very " * 40 + "far?")
    third = ask(api, tenant_a, bot["id"], "Who answers support email?")

    # When the chats are listed two at a time
    page1 = list_chats(api, tenant_a, limit=2)
    page2 = list_chats(api, tenant_a, limit=2, cursor=page1.headers.get("x-next-cursor"))

    # Then they come newest first across the two pages, in the shape of every list
    assert page1.status == 200 and page2.status == 200, (page1.body, page2.body)
    assert isinstance(page1.json, list) and page1.headers.get("x-next-cursor")
    assert page2.headers.get("x-next-cursor") is None
    chats = page1.json + page2.json
    assert [c["id"] for c in chats] == [third["chat_id"], second["chat_id"], first["chat_id"]]
    # And each has its first user message as a shortened title and its message count
    assert chats[2]["title"] == "How many days for a laptop refund?" and chats[2]["message_count"] == 4
    assert chats[1]["title"].startswith("Where is the office? very") and len(chats[1]["title"]) <= 80
    assert chats[0]["message_count"] == 2 and chats[0]["bot_profile_id"] == bot["id"]


def test_list_chats_filters_by_bot_and_created_range(api, tenant_a, bot):
    # Given chats of two bots, created one after the other
    other_bot = make_bot_profile(api, tenant_a, name="Sales bot")
    ids = [ask(api, tenant_a, b["id"], f"question {n}")["chat_id"]
           for n, b in enumerate([bot, other_bot, bot, bot])]
    created = [api.get(f"/v1/chat/{i}", token=tenant_a.token).json["created_at"] for i in ids]

    def listed(**query) -> list[str]:
        response = list_chats(api, tenant_a, limit=100, **query)
        assert response.status == 200, response.body
        return [c["id"] for c in response.json]

    # When the list is filtered by bot, by a creation range (after: inclusive, before: exclusive), and both
    # Then each filter keeps exactly its chats, newest first
    assert listed(bot_profile_id=bot["id"]) == [ids[3], ids[2], ids[0]]
    assert listed(bot_profile_id=other_bot["id"]) == [ids[1]]
    assert listed(created_after=created[1], created_before=created[3]) == [ids[2], ids[1]]
    assert listed(created_after=created[1], bot_profile_id=bot["id"]) == [ids[3], ids[2]]
    assert listed(created_before=created[0]) == []
    # And a timestamp with another offset means the same instant in UTC
    in_paris = datetime.fromisoformat(created[2].replace("Z", "+00:00")).astimezone(timezone(timedelta(hours=1)))
    assert listed(created_after=in_paris.isoformat()) == [ids[3], ids[2]]
    assert listed(bot_profile_id=MISSING_ID) == []


@pytest.mark.parametrize("query, field", [
    ({"bot_profile_id": "nope"}, "bot_profile_id"),
    ({"created_after": "yesterday"}, "created_after"),
    ({"created_before": "2026-13-01T00:00:00Z"}, "created_before"),
    ({"created_after": "1700000000"}, "created_after"),
    ({"created_after": "2026-12-02T00:00:00Z", "created_before": "2026-12-01T00:00:00Z"}, "created_before"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
])
def test_list_chats_with_invalid_filter_returns_422_naming_it(api, tenant_a, bot, query, field):
    # Given a chat
    ask(api, tenant_a, bot["id"], "hello?")

    # When the list is asked with a bad filter
    response = list_chats(api, tenant_a, **query)

    # Then it is a 422 naming the filter
    assert_error(response, 422, field=field)


def test_list_chats_without_token_returns_401(api):
    assert_error(api.get("/v1/chat"), 401)


# -- PATCH /v1/chat/{id}/messages/{mid}/feedback ------------------------------------------------------

def test_feedback_on_assistant_message_is_answered_and_kept_in_history(api, tenant_a, bot, tenant_rows):
    # Given an answered question
    turn = ask(api, tenant_a, bot["id"], "How many days for a laptop refund?")

    # When the answer is rated negative with a comment
    response = api.patch(feedback_path(turn["chat_id"], turn["message_id"]),
                         {"feedback": "negative", "comment": "It should know the refund policy."},
                         token=tenant_a.token)

    # Then the message comes back with its role, feedback and comment
    assert response.status == 200, response.body
    body = response.json
    assert (body["id"], body["role"], body["feedback"], body["feedback_comment"]) == (
        turn["message_id"], "assistant", "negative", "It should know the refund policy.")
    # And the history shows it, the question has none, and the row holds it
    history = api.get(f"/v1/chat/{turn['chat_id']}/messages", token=tenant_a.token).json
    assert [(m["role"], m["feedback"], m["feedback_comment"]) for m in history] == [
        ("user", None, None), ("assistant", "negative", "It should know the refund policy.")]
    row = tenant_rows(tenant_a, Message, Message.id == uuid.UUID(turn["message_id"]))[0]
    assert (row.feedback, row.feedback_comment) == ("negative", "It should know the refund policy.")


def test_feedback_replaced_then_cleared_with_null(api, tenant_a, bot):
    # Given an answer rated negative with a comment
    turn = ask(api, tenant_a, bot["id"], "Where is the office?")
    path = feedback_path(turn["chat_id"], turn["message_id"])
    assert api.patch(path, {"feedback": "negative", "comment": "vague"}, token=tenant_a.token).status == 200

    # When it is rated positive without a comment, then cleared with null
    replaced = api.patch(path, {"feedback": "positive"}, token=tenant_a.token)
    cleared = api.patch(path, {"feedback": None}, token=tenant_a.token)

    # Then the rating replaces the whole feedback (the old comment goes), and null clears it
    assert replaced.status == 200 and cleared.status == 200, (replaced.body, cleared.body)
    assert (replaced.json["feedback"], replaced.json["feedback_comment"]) == ("positive", None)
    assert (cleared.json["feedback"], cleared.json["feedback_comment"]) == (None, None)
    history = api.get(f"/v1/chat/{turn['chat_id']}/messages", token=tenant_a.token).json
    assert history[1]["feedback"] is None


def test_feedback_on_user_message_returns_422_saying_only_assistant_messages(api, tenant_a, bot, tenant_rows):
    # Given a question and its answer
    turn = ask(api, tenant_a, bot["id"], "Where is the office?")

    # When the user's own message is rated
    response = api.patch(feedback_path(turn["chat_id"], turn["user_message_id"]), {"feedback": "positive"},
                         token=tenant_a.token)

    # Then it is a 422 saying only assistant messages take feedback, and nothing is stored
    error = assert_error(response, 422, field="feedback")
    assert "only assistant messages take feedback" in error["message"]
    row = tenant_rows(tenant_a, Message, Message.id == uuid.UUID(turn["user_message_id"]))[0]
    assert row.feedback is None


@pytest.mark.parametrize("body, field", [
    ({"feedback": "meh"}, "feedback"),
    ({"feedback": 1}, "feedback"),
    ({}, "feedback"),
    ({"feedback": "positive", "comment": "x" * 2001}, "comment"),
    ({"feedback": None, "comment": "a comment without a rating"}, "comment"),
    ({"feedback": "positive", "rating": 5}, "rating"),
    ({"feedback": "positive", "comment": "nul\u0000byte"}, "comment"),
])
def test_feedback_with_invalid_body_returns_422_naming_field(api, tenant_a, bot, body, field, tenant_rows):
    # Given an answer
    turn = ask(api, tenant_a, bot["id"], "Where is the office?")

    # When it is rated with a bad body
    response = api.patch(feedback_path(turn["chat_id"], turn["message_id"]), body, token=tenant_a.token)

    # Then it is a 422 naming the field, and nothing is stored
    assert_error(response, 422, field=field)
    assert tenant_rows(tenant_a, Message, Message.id == uuid.UUID(turn["message_id"]))[0].feedback is None


def test_feedback_comment_of_2000_chars_is_kept(api, tenant_a, bot):
    turn = ask(api, tenant_a, bot["id"], "Where is the office?")
    response = api.patch(feedback_path(turn["chat_id"], turn["message_id"]),
                         {"feedback": "positive", "comment": "é" * 2000}, token=tenant_a.token)
    assert response.status == 200, response.body
    assert response.json["feedback_comment"] == "é" * 2000


def test_feedback_on_foreign_or_missing_chat_or_message_returns_identical_404(api, tenant_a, tenant_b, bot,
                                                                              tenant_rows):
    # Given A's answered question, another chat of A's, and B's own chat
    a_turn = ask(api, tenant_a, bot["id"], "Where is the office?")
    a_other = ask(api, tenant_a, bot["id"], "Who answers email?")
    b_turn = ask(api, tenant_b, make_bot_profile(api, tenant_b)["id"], "hello?")
    body = {"feedback": "negative", "comment": "B was here"}

    # When B rates A's answer (through A's chat and through B's own), and A rates through the wrong chat
    attempts = [
        api.patch(feedback_path(a_turn["chat_id"], a_turn["message_id"]), body, token=tenant_b.token),
        api.patch(feedback_path(b_turn["chat_id"], a_turn["message_id"]), body, token=tenant_b.token),
        api.patch(feedback_path(a_turn["chat_id"], b_turn["message_id"]), body, token=tenant_b.token),
        api.patch(feedback_path(a_other["chat_id"], a_turn["message_id"]), body, token=tenant_a.token),
        api.patch(feedback_path(a_turn["chat_id"], MISSING_ID), body, token=tenant_a.token),
    ]
    missing = api.patch(feedback_path(MISSING_ID, MISSING_ID), body, token=tenant_b.token)

    # Then every one is the same 404 as for ids that do not exist, and A's answer keeps no feedback
    assert_error(missing, 404, "not_found")
    for attempt in attempts:
        assert (attempt.status, attempt.body) == (missing.status, missing.body)
    assert tenant_rows(tenant_a, Message, Message.id == uuid.UUID(a_turn["message_id"]))[0].feedback is None
