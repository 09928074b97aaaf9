"""Text the databases cannot store (a NUL, an unpaired surrogate) and metadata too deep or too big:
every function answers a 422 naming the field, on SQLite and PostgreSQL alike, before anything is
written (and before a model is called)."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from minirag.db.models import Chat, Message, Source, UsageEvent
from tests.assertions import assert_error
from tests.factories import make_bot_profile, make_ingested_source, make_source

NUL = "bad\x00name"
SURROGATE = "bad\ud800name"


def _bot(api, tenant) -> str:
    return make_bot_profile(api, tenant)["id"]


# (method, path (given a bot id and a source id), body (given the bad string and the bot id), field)
Case = tuple[str, Callable[[str, str], str], Callable[[str, str], dict[str, Any]], str]
CASES: dict[str, Case] = {
    "tenant_name": ("POST", lambda b, s: "/v1/tenants", lambda x, b: {
        "tenant_name": x, "tenant_slug": "new-tenant", "owner_email": "o@new.example.com",
        "owner_password": "correct-horse-battery"}, "tenant_name"),
    "owner_email": ("POST", lambda b, s: "/v1/tenants", lambda x, b: {
        "tenant_name": "New", "tenant_slug": "new-tenant", "owner_email": f"o{x}@new.example.com",
        "owner_password": "correct-horse-battery"}, "owner_email"),
    "owner_password": ("POST", lambda b, s: "/v1/tenants", lambda x, b: {
        "tenant_name": "New", "tenant_slug": "new-tenant", "owner_email": "o@new.example.com",
        "owner_password": f"correct-horse-{x}"}, "owner_password"),
    "login_email": ("POST", lambda b, s: "/v1/auth/token", lambda x, b: {
        "email": f"owner{x}@tenant-a.example.com", "password": "whatever-password"}, "email"),
    "login_password": ("POST", lambda b, s: "/v1/auth/token", lambda x, b: {
        "email": "owner@tenant-a.example.com", "password": f"pw-{x}"}, "password"),
    "token_name": ("POST", lambda b, s: "/v1/api-tokens", lambda x, b: {"name": x}, "name"),
    "bot_name": ("POST", lambda b, s: "/v1/bot-profiles", lambda x, b: {"name": x}, "name"),
    "system_prompt": ("POST", lambda b, s: "/v1/bot-profiles", lambda x, b: {
        "name": "Bot", "system_prompt": x}, "system_prompt"),
    "provider_api_key": ("POST", lambda b, s: "/v1/bot-profiles", lambda x, b: {
        "name": "Bot", "provider_api_key": f"sk-{x}"}, "provider_api_key"),
    "patched_key": ("PATCH", lambda b, s: f"/v1/bot-profiles/{b}", lambda x, b: {
        "provider_api_key": f"sk-{x}"}, "provider_api_key"),
    "source_name": ("POST", lambda b, s: "/v1/sources", lambda x, b: {
        "bot_profile_id": b, "name": x, "source_type": "text", "content": "Some text."}, "name"),
    "source_content": ("POST", lambda b, s: "/v1/sources", lambda x, b: {
        "bot_profile_id": b, "name": "Doc", "source_type": "text", "content": x}, "content"),
    "content_type": ("POST", lambda b, s: "/v1/sources", lambda x, b: {
        "bot_profile_id": b, "name": "Doc", "source_type": "upload", "filename": "a.txt",
        "content_type": f"text/plain; {x}"}, "content_type"),
    "metadata_value": ("POST", lambda b, s: "/v1/sources", lambda x, b: {
        "bot_profile_id": b, "name": "Doc", "source_type": "text", "content": "Text.",
        "metadata": {"team": {"lead": x}}}, "metadata.team.lead"),
    "patched_content": ("PATCH", lambda b, s: f"/v1/sources/{s}", lambda x, b: {"content": x}, "content"),
    "chat_message": ("POST", lambda b, s: "/v1/chat", lambda x, b: {"bot_profile_id": b, "message": x}, "message"),
    "retrieve_query": ("POST", lambda b, s: "/v1/retrieve", lambda x, b: {"bot_profile_id": b, "query": x}, "query"),
}


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize("case", list(CASES))
def test_unstorable_text_returns_422_naming_the_field(api, tenant_a, ingest_worker, tenant_rows, case, bad):
    # Given a bot with an ingested source (so a chat would reach the model)
    bot_id = _bot(api, tenant_a)
    source = make_ingested_source(api, tenant_a, bot_id, ingest_worker)
    method, path, body, field = CASES[case]

    # When a text field carries a NUL or an unpaired surrogate
    response = api.request(method, path(bot_id, source["id"]), json_body=body(bad, bot_id), token=tenant_a.token)

    # Then it is a 422 naming the field (not a 500 from the database driver)
    error = assert_error(response, 422, "validation_error", field=field)
    assert "\\u0000" in error["message"] or "surrogate" in error["message"], error
    # And nothing was written: no other source, no chat, no usage
    assert [s.id for s in tenant_rows(tenant_a, Source)] == [__import__("uuid").UUID(source["id"])]
    assert tenant_rows(tenant_a, Chat) == [] and tenant_rows(tenant_a, Message) == []
    assert [e.kind.value for e in tenant_rows(tenant_a, UsageEvent)] == ["embedding"]


def test_unstorable_metadata_key_is_named_escaped(api, tenant_a):
    # Given a metadata key with a NUL and one with an unpaired surrogate
    bot_id = _bot(api, tenant_a)
    body = {"bot_profile_id": bot_id, "name": "Doc", "source_type": "text", "content": "Text.",
            "metadata": {"a\x00b": 1, "c\ud800": 2}}

    # When the source is created
    response = api.post("/v1/sources", body, token=tenant_a.token)

    # Then both keys are named, escaped so the answer itself is valid UTF-8 JSON
    assert_error(response, 422, "validation_error")
    assert response.error_fields() == {"metadata.a\\x00b", "metadata.c\\ud800"}


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize(("metadata", "reason"), [
    (_nested(256), "nested more than 10 levels deep"),
    (_nested(11), "nested more than 10 levels deep"),
    ({"blob": "x" * 20_000}, "larger than 16384 bytes as JSON"),
], ids=["deep", "just-too-deep", "big"])
def test_metadata_too_deep_or_too_big_returns_422_and_writes_nothing(api, tenant_a, tenant_rows, method, metadata,
                                                                      reason):
    # Given a source
    bot_id = _bot(api, tenant_a)
    source = make_source(api, tenant_a, bot_id, metadata={"team": "support"})

    # When metadata nested too deep (or too big) is sent at create or PATCH
    if method == "POST":
        response = api.post("/v1/sources", {"bot_profile_id": bot_id, "name": "Deep", "source_type": "text",
                                             "content": "Text.", "metadata": metadata}, token=tenant_a.token)
    else:
        response = api.patch(f"/v1/sources/{source['id']}", {"metadata": metadata}, token=tenant_a.token)

    # Then it is a 422 naming metadata, and nothing changed
    error = assert_error(response, 422, "validation_error", field="metadata")
    assert reason in error["message"], error
    rows = tenant_rows(tenant_a, Source)
    assert len(rows) == 1 and rows[0].metadata_ == {"team": "support"}
    # And the tenant's sources still list
    listed = api.get("/v1/sources", token=tenant_a.token)
    assert listed.status == 200 and [s["id"] for s in listed.json] == [source["id"]]


def test_metadata_at_the_depth_limit_is_kept(api, tenant_a):
    # Given metadata exactly 10 levels deep
    bot_id = _bot(api, tenant_a)

    # When it is created and listed
    created = make_source(api, tenant_a, bot_id, metadata=_nested(10))
    listed = api.get("/v1/sources", token=tenant_a.token)

    # Then it round-trips
    assert created["metadata"] == _nested(10)
    assert listed.status == 200 and listed.json[0]["metadata"] == _nested(10)
