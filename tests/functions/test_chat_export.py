"""Chat export through the real Lambda handler (buffered, as API Gateway returns it):
`GET /v1/chat/export` (all chats' messages, JSON array, JSON Lines or CSV, date range and bot filter)
and `GET /v1/chat/{id}/export`; and the export generator's laziness (keyset pages fetched one at a
time as the body is consumed), which is what keeps a streamed export's memory bounded."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from minirag.db import chat_rows
from minirag.db.engine import get_session_factory
from minirag.db.models import MessageRole
from minirag.db.scope import TenantScope
from minirag.services.chat_history import ChatHistoryService
from minirag.services.commands import ExportChats
from tests.assertions import assert_error
from tests.factories import make_bot_profile


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


def ask(api, tenant, bot_id: str, message: str, **extra) -> dict:
    response = api.post("/v1/chat", {"bot_profile_id": bot_id, "message": message, **extra}, token=tenant.token)
    assert response.status == 200, response.body
    return response.json


def export(api, tenant, **query):
    return api.get("/v1/chat/export", token=tenant.token, query=query)


def test_json_export_is_an_array_of_every_message_oldest_first(api, tenant_a, bot):
    # Given two chats, one with two turns, and a rated answer
    first = ask(api, tenant_a, bot["id"], "Refunds?")
    ask(api, tenant_a, bot["id"], "And phones?", chat_id=first["chat_id"])
    second = ask(api, tenant_a, bot["id"], "Office hours?")
    api.patch(f"/v1/chat/{second['chat_id']}/messages/{second['message_id']}/feedback", {"feedback": "negative"},
              token=tenant_a.token)

    # When the tenant's chats are exported as JSON
    response = export(api, tenant_a, format="json")

    # Then it is one JSON array, a row per message, oldest first, with its chat and bot, as a download
    assert response.status == 200, response.body
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith('attachment; filename="chats-')
    rows = json.loads(response.body)
    assert [r["content"] for r in rows if r["role"] == "user"] == ["Refunds?", "And phones?", "Office hours?"]
    assert len(rows) == 6 and {r["bot_profile_id"] for r in rows} == {bot["id"]}
    assert rows[0]["chat_id"] == first["chat_id"] and rows[0]["chat_title"] == "Refunds?"
    assert rows[-1]["feedback"] == "negative" and rows[-1]["role"] == "assistant"
    assert set(rows[0]) >= {"chat_id", "chat_title", "bot_profile_id", "message_id", "role", "content", "model",
                            "prompt_tokens", "completion_tokens", "feedback", "feedback_comment", "created_at"}


def test_csv_export_has_a_header_and_quotes_commas_quotes_and_newlines(api, tenant_a, bot):
    # Given a question with a comma, a quote and a newline
    tricky = 'Hello, "world"\nsecond line'
    ask(api, tenant_a, bot["id"], tricky)

    # When exported as CSV
    response = export(api, tenant_a, format="csv")

    # Then a header row, then one row per message, read back intact by the csv module
    assert response.status == 200, response.body
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert len(rows) == 2 and rows[0]["content"] == tricky and rows[0]["role"] == "user"


def test_jsonl_export_is_one_object_per_line(api, tenant_a, bot):
    ask(api, tenant_a, bot["id"], "One?")
    response = export(api, tenant_a, format="jsonl")
    assert response.status == 200, response.body
    lines = response.body.decode().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["content"] == "One?"


def test_export_filters_by_bot_and_date_range(api, tenant_a, bot):
    # Given a chat of each of two bots
    other = make_bot_profile(api, tenant_a, name="Other")
    ask(api, tenant_a, bot["id"], "Mine?")
    ask(api, tenant_a, other["id"], "Theirs?")
    now = datetime.now(timezone.utc)

    # When exported for one bot, and for a range that ended yesterday
    mine = export(api, tenant_a, format="json", bot_profile_id=bot["id"])
    past = export(api, tenant_a, format="json", to=(now - timedelta(days=1)).date().isoformat())

    # Then only that bot's messages, and none from today
    assert [r["content"] for r in json.loads(mine.body) if r["role"] == "user"] == ["Mine?"]
    assert past.status == 200 and json.loads(past.body) == []


def test_one_chat_export(api, tenant_a, bot):
    # Given two chats
    first = ask(api, tenant_a, bot["id"], "First?")
    ask(api, tenant_a, bot["id"], "Second?")

    # When one is exported as CSV
    response = api.get(f"/v1/chat/{first['chat_id']}/export", token=tenant_a.token, query={"format": "csv"})

    # Then only its messages, named after the chat
    assert response.status == 200, response.body
    assert first["chat_id"] in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert [r["content"] for r in rows][0] == "First?" and {r["chat_id"] for r in rows} == {first["chat_id"]}


def test_other_tenants_chat_export_is_the_same_404_as_missing(api, tenant_a, tenant_b, bot):
    chat = ask(api, tenant_a, bot["id"], "Secret?")
    foreign = api.get(f"/v1/chat/{chat['chat_id']}/export", token=tenant_b.token)
    missing = api.get(f"/v1/chat/{uuid.uuid4()}/export", token=tenant_b.token)
    assert_error(foreign, 404, "not_found")
    assert foreign.body == missing.body
    everything = export(api, tenant_b, format="json")
    assert everything.status == 200 and json.loads(everything.body) == []


@pytest.mark.parametrize(("query", "field"), [
    ({"format": "xml"}, "format"),
    ({"from": "last week"}, "from"),
    ({"from": "2026-12-05", "to": "2026-12-01"}, "to"),
    ({"bot_profile_id": "nope"}, "bot_profile_id"),
])
def test_bad_export_parameters_are_422_naming_the_field(api, tenant_a, query, field):
    assert_error(export(api, tenant_a, **query), 422, field=field)


def test_buffered_export_over_the_lambda_limit_is_413_telling_to_narrow_the_range(api, tenant_a, bot, monkeypatch):
    # Given an export bigger than the buffered (Lambda) response limit
    monkeypatch.setenv("EXPORT_MAX_BYTES", "2000")
    from minirag.settings import get_settings

    get_settings.cache_clear()
    for n in range(6):
        ask(api, tenant_a, bot["id"], f"Question {n} " + "x" * 300)

    # When it is asked for through the Lambda handler
    response = export(api, tenant_a, format="json")

    # Then a clear 413 naming the date range, not a truncated body or a 500
    error = assert_error(response, 413, "payload_too_large", field="from")
    assert "narrow" in error["message"]


def test_export_generator_fetches_keyset_pages_lazily(api, tenant_a, bot, monkeypatch):
    # Given 25 turns (50 messages)
    for n in range(25):
        ask(api, tenant_a, bot["id"], f"Turn {n}?")
    pages: list[int] = []
    real = chat_rows.export_page

    def counting(*args, **kwargs):
        rows = real(*args, **kwargs)
        pages.append(len(rows))
        return rows

    monkeypatch.setattr(chat_rows, "export_page", counting)

    # When the export is consumed 7 messages at a time through pages of 10
    with get_session_factory()() as session:
        service = ChatHistoryService(TenantScope(session, uuid.UUID(tenant_a.id)))
        rows = service.export_rows(ExportChats(), page_size=10)
        first = [next(rows) for _ in range(7)]

        # Then only the first page was fetched so far
        assert len(first) == 7 and pages == [10]

        # And draining it fetches the rest page by page, each at most 10 rows, no row twice
        rest = list(rows)
    assert pages == [10, 10, 10, 10, 10, 0]
    ids = [r["message_id"] for r in first + rest]
    assert len(ids) == 50 == len(set(ids))
    assert [r["role"] for r in first[:2]] == [MessageRole.user.value, MessageRole.assistant.value]


def test_export_rows_are_the_documented_fields():
    from minirag.api.routers.chat import export_chats

    assert all(name in export_chats.__doc__ for name in chat_rows.EXPORT_FIELDS)
