"""BotProfilesFunction: create with defaults, write-only provider key (encrypted at rest), PATCH
semantics, chunking rule, deactivate, and cursor pagination."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import text

from minirag.db.engine import get_engine
from minirag.security.fernet import decrypt_secret
from minirag.settings import get_settings
from tests.assertions import assert_error
from tests.factories import make_bot_profile, make_source
from tests.integration.ingest.support import (
    event_for,
    failed_ids,
    get_source,
    invoke_ingest,
    request_ingest,
    take_queued,
)

PROVIDER_KEY = "sk-test-PROVIDERKEY-0123456789abcdefWXYZ"


def _stored_keys() -> list[tuple[str | None, str | None]]:
    with get_engine().connect() as conn:
        rows = conn.execute(text("SELECT provider_key_encrypted, provider_key_last4 FROM bot_profile"))
        return [tuple(r) for r in rows]


def test_create_bot_profile_applies_defaults(api, tenant_a):
    # Given only a name
    # When a bot profile is created
    response = api.post("/v1/bot-profiles", {"name": "Helpdesk"}, token=tenant_a.token)

    # Then it answers 201 with the server defaults
    assert response.status == 201, response.body
    bot = response.json
    settings = get_settings()
    assert bot["model"] == settings.default_chat_model == "local/extractive"
    assert bot["embedding_model"] == settings.embedding_model
    assert bot["has_provider_key"] is False and bot["provider_key_last4"] is None
    assert (bot["chunk_tokens"], bot["chunk_overlap_tokens"], bot["top_k"]) == (200, 40, 5)
    assert bot["is_active"] is True
    # And it can be read back
    got = api.get(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token)
    assert got.status == 200 and got.json == bot


def test_create_bot_profile_with_provider_key_is_write_only_and_encrypted(api, tenant_a):
    # Given a provider API key in the create body
    # When the bot profile is created, read, listed and updated
    created = api.post("/v1/bot-profiles", {"name": "Keyed", "model": "gpt-4o-mini", "provider_api_key": PROVIDER_KEY},
                       token=tenant_a.token)
    bot_id = created.json["id"]
    responses = [
        created,
        api.get(f"/v1/bot-profiles/{bot_id}", token=tenant_a.token),
        api.get("/v1/bot-profiles", token=tenant_a.token),
        api.patch(f"/v1/bot-profiles/{bot_id}", {"name": "Renamed"}, token=tenant_a.token),
    ]

    # Then only has_provider_key and the last 4 characters are shown; the key never appears
    assert created.status == 201, created.body
    assert created.json["has_provider_key"] is True and created.json["provider_key_last4"] == "WXYZ"
    for response in responses:
        assert response.status in (200, 201)
        assert PROVIDER_KEY not in response.body.decode()
        assert "provider_api_key" not in response.body.decode()
    # And the database holds ciphertext that decrypts to the key, never the plaintext
    [(ciphertext, last4)] = _stored_keys()
    assert ciphertext and PROVIDER_KEY not in ciphertext and last4 == "WXYZ"
    assert decrypt_secret(ciphertext) == PROVIDER_KEY


def test_create_bot_profile_with_short_provider_key_hides_last4(api, tenant_a):
    # Given a very short key (showing 4 characters would reveal most of it)
    # When the bot profile is created
    response = api.post("/v1/bot-profiles", {"name": "Short", "provider_api_key": "abc12"}, token=tenant_a.token)

    # Then it is stored but its last 4 are not shown
    assert response.status == 201, response.body
    assert response.json["has_provider_key"] is True and response.json["provider_key_last4"] is None
    assert "abc12" not in response.body.decode()


def test_patch_bot_profile_changes_only_sent_fields(api, tenant_a):
    # Given a bot profile with a provider key
    bot = make_bot_profile(api, tenant_a, description="first", provider_api_key=PROVIDER_KEY, top_k=7)

    # When only the temperature is patched
    response = api.patch(f"/v1/bot-profiles/{bot['id']}", {"temperature": 1.1}, token=tenant_a.token)

    # Then only the temperature (and updated_at) changed; the key is kept
    assert response.status == 200, response.body
    after = response.json
    assert after["temperature"] == 1.1
    unchanged = {k: v for k, v in bot.items() if k not in ("temperature", "updated_at")}
    assert {k: after[k] for k in unchanged} == unchanged
    assert after["has_provider_key"] is True
    assert api.get(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).json == after


def test_patch_bot_profile_with_null_provider_key_removes_it(api, tenant_a):
    # Given a bot profile with a provider key
    bot = make_bot_profile(api, tenant_a, provider_api_key=PROVIDER_KEY)

    # When the key is patched to null
    response = api.patch(f"/v1/bot-profiles/{bot['id']}", {"provider_api_key": None}, token=tenant_a.token)

    # Then the key is gone, from the API and from the database
    assert response.status == 200, response.body
    assert response.json["has_provider_key"] is False and response.json["provider_key_last4"] is None
    assert _stored_keys() == [(None, None)]


def test_patch_bot_profile_with_new_provider_key_replaces_it(api, tenant_a):
    # Given a bot profile with a provider key
    bot = make_bot_profile(api, tenant_a, provider_api_key=PROVIDER_KEY)

    # When a new key is patched in
    response = api.patch(f"/v1/bot-profiles/{bot['id']}", {"provider_api_key": "sk-new-key-9876"},
                         token=tenant_a.token)

    # Then the new key is stored (encrypted) and shown only by its last 4
    assert response.status == 200, response.body
    assert response.json["provider_key_last4"] == "9876" and "sk-new-key-9876" not in response.body.decode()
    [(ciphertext, _)] = _stored_keys()
    assert decrypt_secret(ciphertext) == "sk-new-key-9876"


def test_patch_bot_profile_with_null_name_returns_422(api, tenant_a):
    # Given a bot profile
    bot = make_bot_profile(api, tenant_a)

    # When its name is patched to null
    response = api.patch(f"/v1/bot-profiles/{bot['id']}", {"name": None}, token=tenant_a.token)

    # Then it is a 422 naming name, and the profile is unchanged
    assert_error(response, 422, field="name")
    assert api.get(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).json == bot


def test_patch_bot_profile_description_to_null_clears_it(api, tenant_a):
    # Given a bot profile with a description
    bot = make_bot_profile(api, tenant_a, description="to clear")

    # When the description is patched to null
    response = api.patch(f"/v1/bot-profiles/{bot['id']}", {"description": None}, token=tenant_a.token)

    # Then it is cleared
    assert response.status == 200 and response.json["description"] is None


@pytest.mark.parametrize("body", [{"embedding_model": "other"}, {"tenant_id": "x"}])
def test_patch_bot_profile_with_unknown_or_fixed_field_returns_422(api, tenant_a, body):
    # Given a bot profile
    bot = make_bot_profile(api, tenant_a)

    # When a field that cannot be patched is sent
    response = api.patch(f"/v1/bot-profiles/{bot['id']}", body, token=tenant_a.token)

    # Then it is a 422 naming that field
    assert_error(response, 422, "validation_error", field=next(iter(body)))


def test_patch_bot_profile_embedding_model_says_it_cannot_be_changed_and_why(api, tenant_a):
    # Given a bot profile
    bot = make_bot_profile(api, tenant_a)

    # When its embedding model is patched
    response = api.patch(f"/v1/bot-profiles/{bot['id']}", {"embedding_model": "other"}, token=tenant_a.token)

    # Then the 422 says it cannot be changed and why (not "unknown field"), and the bot is unchanged
    error = assert_error(response, 422, "validation_error", field="embedding_model")
    assert error["message"].startswith("invalid request: embedding_model: cannot be changed after creation: "), error
    assert "vectors" in error["message"] and "create a new bot profile" in error["message"]
    assert "unknown field" not in response.body.decode()
    got = api.get(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).json
    assert got["embedding_model"] == bot["embedding_model"]


def test_create_bot_profile_with_overlap_over_half_chunk_returns_422(api, tenant_a):
    # Given chunk_overlap_tokens more than half of chunk_tokens
    # When a bot profile is created
    response = api.post("/v1/bot-profiles", {"name": "Bad", "chunk_tokens": 100, "chunk_overlap_tokens": 51},
                        token=tenant_a.token)

    # Then it is a 422 naming chunk_overlap_tokens, and nothing was created
    assert_error(response, 422, field="chunk_overlap_tokens")
    assert api.get("/v1/bot-profiles", token=tenant_a.token).json == []


def test_create_bot_profile_with_overlap_exactly_half_chunk_returns_422(api, tenant_a):
    # Given chunk_overlap_tokens exactly half of chunk_tokens (the chunker needs strictly less)
    # When a bot profile is created
    response = api.post("/v1/bot-profiles", {"name": "Half", "chunk_tokens": 200, "chunk_overlap_tokens": 100},
                        token=tenant_a.token)

    # Then it is a 422 naming chunk_overlap_tokens, and nothing was created
    assert_error(response, 422, "invalid_input", field="chunk_overlap_tokens")
    assert api.get("/v1/bot-profiles", token=tenant_a.token).json == []


def test_create_bot_profile_with_largest_allowed_overlap_ingests_to_ready(api, tenant_a):
    # Given a bot profile whose overlap is one below half of chunk_tokens
    response = api.post("/v1/bot-profiles", {"name": "Edge", "chunk_tokens": 200, "chunk_overlap_tokens": 99},
                        token=tenant_a.token)
    assert response.status == 201, response.body
    bot = response.json
    source = make_source(api, tenant_a, bot["id"], content="# Hours\n\n" + "The shop opens at nine. " * 80)

    # When a source of that bot is ingested by the real ingest handler
    request_ingest(api, tenant_a, source["id"])
    event, _ = event_for(*take_queued())
    result = invoke_ingest(api, event)

    # Then the ingest succeeded and the source is ready with several chunks
    assert failed_ids(result) == []
    ready = get_source(api, tenant_a, source["id"])
    assert ready["status"] == "ready", ready
    assert ready["progress"]["chunks"] > 1


def test_patch_bot_profile_overlap_to_exactly_half_returns_422(api, tenant_a):
    # Given a bot profile with chunk_tokens 200
    bot = make_bot_profile(api, tenant_a)

    # When chunk_overlap_tokens is patched to exactly half
    response = api.patch(f"/v1/bot-profiles/{bot['id']}", {"chunk_overlap_tokens": 100}, token=tenant_a.token)

    # Then it is a 422 naming chunk_overlap_tokens, and nothing changed
    assert_error(response, 422, "invalid_input", field="chunk_overlap_tokens")
    assert api.get(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).json["chunk_overlap_tokens"] == 40


def test_patch_bot_profile_chunk_tokens_below_twice_overlap_returns_422(api, tenant_a):
    # Given a bot profile with the default overlap (40)
    bot = make_bot_profile(api, tenant_a)

    # When chunk_tokens is lowered below twice the overlap
    response = api.patch(f"/v1/bot-profiles/{bot['id']}", {"chunk_tokens": 64}, token=tenant_a.token)

    # Then it is a 422 naming chunk_overlap_tokens, and nothing changed
    assert_error(response, 422, field="chunk_overlap_tokens")
    assert api.get(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).json["chunk_tokens"] == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": ""}, "name"), ({"name": "x", "temperature": 3}, "temperature"), ({"name": "x", "top_k": 0}, "top_k"),
     ({"name": "x", "model": "bad model!"}, "model"), ({"name": "x", "colour": "red"}, "colour"), ({}, "name")],
)
def test_create_bot_profile_with_invalid_field_returns_422_naming_it(api, tenant_a, body, field):
    # Given an invalid create body
    # When it is sent
    response = api.post("/v1/bot-profiles", body, token=tenant_a.token)

    # Then it is a 422 naming the field
    assert_error(response, 422, "validation_error", field=field)


def test_deactivate_bot_profile_hides_it_and_its_sources(api, tenant_a):
    # Given a bot profile with a source, and another bot profile
    bot = make_bot_profile(api, tenant_a)
    other = make_bot_profile(api, tenant_a, name="Other")
    source = make_source(api, tenant_a, bot["id"])

    # When the first bot profile is deactivated
    response = api.delete(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token)

    # Then it answers 204; the profile still reads, as inactive, but is listed only on request;
    # its source is deactivated with it
    assert response.status == 204 and response.body == b""
    got = api.get(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token)
    assert got.status == 200 and got.json["is_active"] is False
    assert [b["id"] for b in api.get("/v1/bot-profiles", token=tenant_a.token).json] == [other["id"]]
    everything = api.get("/v1/bot-profiles", token=tenant_a.token, query={"include_inactive": "true"}).json
    assert {b["id"] for b in everything} == {bot["id"], other["id"]}
    source_now = api.get(f"/v1/sources/{source['id']}", token=tenant_a.token)
    assert source_now.status == 200 and source_now.json["is_active"] is False
    assert api.get("/v1/sources", token=tenant_a.token).json == []
    # And deleting it again changes nothing (204), and it cannot chat
    assert api.delete(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).status == 204
    chat = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": "Hi"}, token=tenant_a.token)
    assert_error(chat, 409, "bot_inactive", field="bot_profile_id")


def test_deactivate_bot_profile_enqueues_purge_of_its_sources(api, tenant_a):
    # Given a bot profile with a source
    from minirag.queue.embedded import get_embedded_queue

    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"])

    # When the bot profile is deactivated
    assert api.delete(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).status == 204

    # Then a purge message for the source is queued
    bodies = [json.loads(m.body) for m in get_embedded_queue().receive(10)]
    assert [(b["kind"], b["source_id"], b["tenant_id"]) for b in bodies] == [("purge", source["id"], tenant_a.id)]


def test_list_bot_profiles_pagination_returns_each_item_once(api, tenant_a):
    # Given 7 bot profiles
    ids = {make_bot_profile(api, tenant_a, name=f"bot {i}")["id"] for i in range(7)}

    # When the list is walked 3 at a time
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/bot-profiles", token=tenant_a.token, query=query)
        assert page.status == 200, page.body
        assert len(page.json) <= 3
        seen += [b["id"] for b in page.json]
        pages += 1
        cursor = page.headers.get("x-next-cursor")
        if cursor is None:
            break

    # Then every profile appears exactly once, newest first, over 3 pages
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7 and set(seen) == ids
    listed = api.get("/v1/bot-profiles", token=tenant_a.token, query={"limit": 100}).json
    created = [b["created_at"] for b in listed]
    assert created == sorted(created, reverse=True)


def test_list_bot_profiles_limit_caps_page_and_last_page_has_no_cursor(api, tenant_a):
    # Given 2 bot profiles
    make_bot_profile(api, tenant_a)
    make_bot_profile(api, tenant_a)

    # When listed with limit 2 and limit 1
    exact = api.get("/v1/bot-profiles", token=tenant_a.token, query={"limit": 2})
    one = api.get("/v1/bot-profiles", token=tenant_a.token, query={"limit": 1})

    # Then an exactly full page has no next cursor, and a short page has one
    assert len(exact.json) == 2 and exact.headers.get("x-next-cursor") is None
    assert len(one.json) == 1 and one.headers.get("x-next-cursor")


def _b64(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "!!!",
        _b64("plain text"),
        _b64("[1, 2]"),
        _b64('{"t": "2024-01-01T00:00:00", "i": "00000000-0000-4000-8000-000000000000"}'),  # naive time
        _b64('{"t": "yesterday", "i": "00000000-0000-4000-8000-000000000000"}'),
        _b64('{"t": "2024-01-01T00:00:00+00:00", "i": "nope"}'),
        _b64('{"t": "2024-01-01T00:00:00+00:00", "i": 123}'),
        _b64('{"t": 5, "i": "00000000-0000-4000-8000-000000000000"}'),
        "x" * 600,
    ],
)
def test_list_bot_profiles_with_bad_cursor_returns_422_naming_cursor(api, tenant_a, cursor):
    # Given a cursor the server never issued
    # When the list is requested with it
    response = api.get("/v1/bot-profiles", token=tenant_a.token, query={"cursor": cursor})

    # Then it is a 422 naming cursor
    assert_error(response, 422, field="cursor")


@pytest.mark.parametrize("limit", [0, 101, -1, "ten"])
def test_list_bot_profiles_with_out_of_range_limit_returns_422(api, tenant_a, limit):
    # Given a limit outside 1..100
    # When the list is requested
    response = api.get("/v1/bot-profiles", token=tenant_a.token, query={"limit": limit})

    # Then it is a 422 naming limit
    assert_error(response, 422, "validation_error", field="limit")


def test_get_bot_profile_with_malformed_id_returns_422(api, tenant_a):
    # Given an id that is not a UUID
    # When it is read
    response = api.get("/v1/bot-profiles/123", token=tenant_a.token)

    # Then it is a 422 naming id
    assert_error(response, 422, "validation_error", field="id")
