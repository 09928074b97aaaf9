"""Roles and scoped keys, enforced by one table (minirag.security.permissions) for every route:
a role that may not act gets a 403 naming the permission, before any lookup (so a foreign or missing
id cannot be told apart by a 403); a token acts as its user's role ∩ its scopes; a publishable key
bound to one bot only chats and retrieves with that bot, from its allowed origins."""

from __future__ import annotations

import uuid

import pytest

from tests.assertions import assert_error
from tests.factories import make_bot_profile, make_source, make_user


@pytest.fixture
def team(api, tenant_a):
    """Tenant A with a bot, a source, and an admin and a member (each with a JWT)."""
    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"])
    return {"bot": bot, "source": source, "admin": make_user(api, tenant_a, role="admin"),
            "member": make_user(api, tenant_a)}


def _forbidden(response, permission: str, holders: str) -> None:
    error = assert_error(response, 403, "forbidden", field="permission")
    assert error["details"] == [{"field": "permission", "reason": f"requires {permission} ({holders})"}]


def test_member_reads_and_chats(api, tenant_a, team):
    token, bot, source = team["member"]["token"], team["bot"], team["source"]
    # Given a member
    # When it reads bots, sources and chats, chats and retrieves
    chat = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": "When does the office open?"}, token=token)
    retrieve = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": "office"}, token=token)

    # Then all succeed
    assert chat.status == 200, chat.body
    assert retrieve.status == 200, retrieve.body
    for path in ("/v1/bot-profiles", f"/v1/bot-profiles/{bot['id']}", "/v1/sources", f"/v1/sources/{source['id']}",
                 "/v1/chat", f"/v1/chat/{chat.json['chat_id']}", "/v1/auth/me", "/v1/tenants/me"):
        assert api.get(path, token=token).status == 200, path
    # And it may rate an answer
    rated = api.patch(f"/v1/chat/{chat.json['chat_id']}/messages/{chat.json['message_id']}/feedback",
                      {"feedback": "positive"}, token=token)
    assert rated.status == 200, rated.body


def test_member_cannot_manage_bots_sources_tokens_or_users(api, tenant_a, team):
    token, bot, source = team["member"]["token"], team["bot"], team["source"]
    # When a member tries to create or change what admins manage
    cases = [
        (api.post("/v1/bot-profiles", {"name": "mine"}, token=token), "bots:write", "admin or owner"),
        (api.patch(f"/v1/bot-profiles/{bot['id']}", {"name": "x"}, token=token), "bots:write", "admin or owner"),
        (api.delete(f"/v1/bot-profiles/{bot['id']}", token=token), "bots:write", "admin or owner"),
        (api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "s", "source_type": "text",
                                  "content": "x"}, token=token), "sources:write", "admin or owner"),
        (api.post(f"/v1/sources/{source['id']}/ingest", token=token), "sources:write", "admin or owner"),
        (api.post("/v1/api-tokens", {"name": "mine"}, token=token), "tokens:write", "admin or owner"),
        (api.get("/v1/api-tokens", token=token), "tokens:read", "admin or owner"),
        (api.post("/v1/users", {"email": "m@tenant-a.example.com", "password": "long-enough-pass"}, token=token),
         "users:write", "owner"),
        (api.get("/v1/users", token=token), "users:read", "admin or owner"),
    ]
    # Then each is a 403 naming the permission and who holds it
    for response, permission, holders in cases:
        _forbidden(response, permission, holders)
    # And nothing changed
    assert api.get(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).json["name"] == bot["name"]


def test_member_403_does_not_reveal_whether_an_id_exists(api, tenant_a, tenant_b, team):
    # Given B's bot, A's bot and a random id
    b_bot = make_bot_profile(api, tenant_b)
    token = team["member"]["token"]

    # When A's member tries to change each
    answers = [api.patch(f"/v1/bot-profiles/{i}", {"name": "x"}, token=token).body
               for i in (team["bot"]["id"], b_bot["id"], str(uuid.uuid4()))]

    # Then the 403 is byte-identical: the permission is checked before any lookup
    assert len(set(answers)) == 1


def test_admin_manages_bots_sources_and_tokens(api, tenant_a, team):
    token = team["admin"]["token"]
    # When an admin creates a bot, a source, ingests it and creates and revokes a token
    bot = api.post("/v1/bot-profiles", {"name": "admin bot"}, token=token)
    source = api.post("/v1/sources", {"bot_profile_id": bot.json["id"], "name": "s", "source_type": "text",
                                      "content": "hello"}, token=token)
    ingest = api.post(f"/v1/sources/{source.json['id']}/ingest", token=token)
    key = api.post("/v1/api-tokens", {"name": "admin key"}, token=token)
    listed = api.get("/v1/api-tokens", token=token)
    revoked = api.delete(f"/v1/api-tokens/{key.json['id']}", token=token)

    # Then all succeed
    assert [bot.status, source.status, ingest.status, key.status, listed.status, revoked.status] == \
        [201, 201, 202, 201, 200, 204]


def test_owner_token_with_only_retrieve_scope_cannot_chat_or_read(api, tenant_a, team):
    # Given an owner's token scoped to retrieve
    created = api.post("/v1/api-tokens", {"name": "search", "scopes": ["retrieve"]}, token=tenant_a.token)
    assert created.status == 201, created.body
    assert created.json["scopes"] == ["retrieve"]
    key, bot = created.json["raw_token"], team["bot"]

    # Then it retrieves, but chatting or reading bots is a 403 naming the permission
    assert api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": "office"}, token=key).status == 200
    error = assert_error(api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": "hi"}, token=key), 403,
                         "forbidden", field="permission")
    assert "requires chat" in error["details"][0]["reason"] and "scopes" in error["message"]
    assert_error(api.get("/v1/bot-profiles", token=key), 403, "forbidden", field="permission")


def test_read_token_cannot_write(api, tenant_a, team):
    # Given an owner's read-only token
    key = api.post("/v1/api-tokens", {"name": "dashboard", "scopes": ["read"]}, token=tenant_a.token).json["raw_token"]

    # Then reads work and writes are 403
    assert api.get("/v1/bot-profiles", token=key).status == 200
    assert api.get(f"/v1/sources/{team['source']['id']}", token=key).status == 200
    assert_error(api.post("/v1/bot-profiles", {"name": "x"}, token=key), 403, "forbidden", field="permission")
    assert_error(api.delete(f"/v1/sources/{team['source']['id']}", token=key), 403, field="permission")
    assert_error(api.post("/v1/api-tokens", {"name": "more"}, token=key), 403, field="permission")


def test_scoped_token_cannot_mint_a_wider_token(api, tenant_a):
    # Given an owner's token with only the admin scope (tokens, users, webhooks: no bot writes)
    key = api.post("/v1/api-tokens", {"name": "ops", "scopes": ["admin"]}, token=tenant_a.token).json["raw_token"]

    # When it creates a token with the write scope, and one without scopes
    wider = api.post("/v1/api-tokens", {"name": "wider", "scopes": ["write"]}, token=key)
    inherited = api.post("/v1/api-tokens", {"name": "same"}, token=key)

    # Then the wider one is a 403 naming scopes; the other inherits the creator's scopes
    assert_error(wider, 403, "forbidden", field="scopes")
    assert inherited.status == 201 and inherited.json["scopes"] == ["admin"]


def test_admin_cannot_mint_a_token_that_manages_users(api, tenant_a, team):
    # Given an admin (who cannot manage users)
    token = team["admin"]["token"]

    # When it asks for the admin scope, it gets a token; that token still cannot add users
    key = api.post("/v1/api-tokens", {"name": "ops", "scopes": ["admin"]}, token=token)
    assert key.status == 201, key.body
    response = api.post("/v1/users", {"email": "z@tenant-a.example.com", "password": "long-enough-pass"},
                        token=key.json["raw_token"])
    _forbidden(response, "users:write", "owner")


def test_bad_scopes_bindings_and_origins_are_422_naming_the_field(api, tenant_a, team):
    bot = team["bot"]["id"]
    # (an item of a list is named by its index, as every 422 names a list item)
    cases = [({"scopes": ["everything"]}, "scopes.0"), ({"scopes": []}, "scopes"),
             ({"bot_profile_id": "not-a-uuid"}, "bot_profile_id"),
             ({"bot_profile_id": bot, "scopes": ["read"]}, "scopes"),
             ({"allowed_origins": ["shop.example.com"]}, "allowed_origins.0"),
             ({"allowed_origins": ["https://ok.example.com", "https://shop.example.com/path"]}, "allowed_origins.1"),
             ({"allowed_origins": ["ftp://shop.example.com"]}, "allowed_origins.0"),
             ({"allowed_origins": ["https://user@shop.example.com"]}, "allowed_origins.0")]
    for extra, field in cases:
        response = api.post("/v1/api-tokens", {"name": "w", **extra}, token=tenant_a.token)
        assert_error(response, 422, field=field)


def test_token_bound_to_another_tenants_bot_is_404_naming_bot_profile_id(api, tenant_a, tenant_b):
    # Given B's bot
    b_bot = make_bot_profile(api, tenant_b)

    # When A binds a key to it, and to a random id
    foreign = api.post("/v1/api-tokens", {"name": "w", "bot_profile_id": b_bot["id"]}, token=tenant_a.token)
    missing = api.post("/v1/api-tokens", {"name": "w", "bot_profile_id": str(uuid.uuid4())}, token=tenant_a.token)

    # Then both are the same 404 naming bot_profile_id
    assert_error(foreign, 404, "not_found", field="bot_profile_id")
    assert foreign.body == missing.body


def _publishable(api, tenant, bot_id: str, origins: list[str] | None = None) -> dict:
    body = {"name": "widget", "bot_profile_id": bot_id, **({"allowed_origins": origins} if origins else {})}
    response = api.post("/v1/api-tokens", body, token=tenant.token)
    assert response.status == 201, response.body
    return response.json


def test_publishable_key_chats_only_with_its_bot(api, tenant_a, team):
    # Given a key bound to one bot, and a second bot
    key = _publishable(api, tenant_a, team["bot"]["id"])
    assert (key["bot_profile_id"], key["scopes"]) == (team["bot"]["id"], ["chat", "retrieve"])
    other = make_bot_profile(api, tenant_a, name="other")
    raw = key["raw_token"]

    # When it chats and retrieves with its bot
    chat = api.post("/v1/chat", {"bot_profile_id": team["bot"]["id"], "message": "When does it open?"}, token=raw)
    retrieve = api.post("/v1/retrieve", {"bot_profile_id": team["bot"]["id"], "query": "office"}, token=raw)
    assert chat.status == 200 and retrieve.status == 200

    # Then the other bot is the same 404 as a missing bot (for chat and retrieve)
    for path, body in (("/v1/chat", {"message": "hi"}), ("/v1/retrieve", {"query": "office"})):
        other_bot = api.post(path, {**body, "bot_profile_id": other["id"]}, token=raw)
        missing = api.post(path, {**body, "bot_profile_id": str(uuid.uuid4())}, token=raw)
        assert_error(other_bot, 404, "not_found", field="bot_profile_id")
        assert other_bot.body == missing.body
    # And everything else is a 403 (reading bots, chats, sources, making tokens, who am I)
    for method, path in (("GET", "/v1/bot-profiles"), ("GET", f"/v1/chat/{chat.json['chat_id']}"),
                         ("GET", "/v1/sources"), ("POST", "/v1/api-tokens"), ("GET", "/v1/auth/me")):
        assert_error(api.request(method, path, token=raw, json_body={"name": "x"} if method == "POST" else None),
                     403, "forbidden", field="permission")


def test_publishable_key_refuses_origins_it_does_not_list(api, tenant_a, team):
    # Given a key for https://shop.example.com
    raw = _publishable(api, tenant_a, team["bot"]["id"], ["https://Shop.Example.com"])["raw_token"]
    body = {"bot_profile_id": team["bot"]["id"], "message": "When does the office open?"}

    # When a page on that origin, a page on another and a non-browser client (no Origin) chat
    allowed = api.post("/v1/chat", body, token=raw, headers={"origin": "https://shop.example.com"})
    refused = api.post("/v1/chat", body, token=raw, headers={"origin": "https://evil.example.com"})
    no_origin = api.post("/v1/chat", body, token=raw)

    # Then the listed origin chats, the other is a 403 naming origin, and no Origin is let through
    assert allowed.status == 200, allowed.body
    assert_error(refused, 403, "origin_not_allowed", field="origin")
    assert no_origin.status == 200
    # And the listed origins are shown normalised on the token
    listed = api.get("/v1/api-tokens", token=tenant_a.token).json["data"]
    assert [t["allowed_origins"] for t in listed if t["name"] == "widget"] == [["https://shop.example.com"]]


def test_demoting_a_user_narrows_their_tokens_at_once(api, tenant_a, team):
    # Given an admin's unscoped token
    admin = team["admin"]
    key = api.post("/v1/api-tokens", {"name": "a"}, token=admin["token"]).json["raw_token"]
    assert api.post("/v1/bot-profiles", {"name": "ok"}, token=key).status == 201

    # When the owner demotes the admin to member
    assert api.patch(f"/v1/users/{admin['id']}", {"role": "member"}, token=tenant_a.token).status == 200

    # Then the token can no longer write bots, but still reads
    _forbidden(api.post("/v1/bot-profiles", {"name": "no"}, token=key), "bots:write", "admin or owner")
    assert api.get("/v1/bot-profiles", token=key).status == 200
