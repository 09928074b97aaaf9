"""ApiTokensFunction: create (raw token shown once), list (never the raw token nor its hash),
revoke (401 at once, idempotent)."""

from __future__ import annotations

import hashlib

from tests.assertions import assert_error

PUBLIC_KEYS = {"id", "name", "prefix", "user_id", "created_at", "last_used_at", "expires_at", "revoked_at",
               "scopes", "bot_profile_id", "allowed_origins"}


def test_create_api_token_returns_raw_token_once_and_it_works(api, tenant_a):
    # Given tenant A
    # When it creates a named token
    response = api.post("/v1/api-tokens", {"name": "ci", "expires_in_days": 30}, token=tenant_a.token)

    # Then it answers 201 with the raw token (shown once) and the public fields
    assert response.status == 201, response.body
    data = response.json
    assert set(data) == PUBLIC_KEYS | {"raw_token"}
    assert data["name"] == "ci" and data["user_id"] == tenant_a.owner_id and data["expires_at"] is not None
    assert data["raw_token"].startswith(data["prefix"]) and len(data["prefix"]) < len(data["raw_token"])
    # And the new token authenticates as tenant A
    me = api.get("/v1/tenants/me", token=data["raw_token"])
    assert me.status == 200 and me.json["tenant"]["id"] == tenant_a.id


def test_list_api_tokens_never_contains_raw_token_or_hash(api, tenant_a):
    # Given tenant A has its bootstrap token and a second one
    created = api.post("/v1/api-tokens", {"name": "second"}, token=tenant_a.token).json
    raw_tokens = [tenant_a.token, created["raw_token"]]

    # When it lists its tokens
    response = api.get("/v1/api-tokens", token=tenant_a.token)

    # Then each item has only the public keys, and no raw token or its SHA-256 appears anywhere
    assert response.status == 200, response.body
    items = response.json["data"]
    assert {i["id"] for i in items} == {tenant_a.api_token_id, created["id"]}
    for item in items:
        assert set(item) == PUBLIC_KEYS
    text = response.body.decode()
    for raw in raw_tokens:
        assert raw not in text
        assert hashlib.sha256(raw.encode()).hexdigest() not in text
    assert "token_hash" not in text and "raw_token" not in text


def test_create_api_token_with_invalid_body_returns_422(api, tenant_a):
    # Given bodies with an empty name, an unknown field and an out-of-range expiry
    cases = [({"name": ""}, "name"), ({"name": "x", "scope": "all"}, "scope"),
             ({"name": "x", "expires_in_days": 0}, "expires_in_days")]

    for body, field in cases:
        # When each is sent
        response = api.post("/v1/api-tokens", body, token=tenant_a.token)

        # Then it is a 422 naming the field
        assert_error(response, 422, "validation_error", field=field)
    # And no token was created
    assert len(api.get("/v1/api-tokens", token=tenant_a.token).json["data"]) == 1


def test_revoke_api_token_returns_401_at_once_and_twice_is_ok(api, tenant_a):
    # Given a second token of tenant A
    created = api.post("/v1/api-tokens", {"name": "to-revoke"}, token=tenant_a.token).json
    assert api.get("/v1/tenants/me", token=created["raw_token"]).status == 200

    # When it is revoked
    response = api.delete(f"/v1/api-tokens/{created['id']}", token=tenant_a.token)

    # Then it answers 204 and the token gets 401 on the very next request
    assert response.status == 204 and response.body == b""
    assert_error(api.get("/v1/tenants/me", token=created["raw_token"]), 401, "unauthenticated")
    # And the list shows it revoked
    listed = {t["id"]: t for t in api.get("/v1/api-tokens", token=tenant_a.token).json["data"]}
    assert listed[created["id"]]["revoked_at"] is not None
    # And revoking again is fine
    assert api.delete(f"/v1/api-tokens/{created['id']}", token=tenant_a.token).status == 204


def test_revoke_missing_api_token_returns_404(api, tenant_a):
    # Given an id that does not exist
    # When it is revoked
    response = api.delete("/v1/api-tokens/00000000-0000-4000-8000-000000000000", token=tenant_a.token)

    # Then it is a 404 envelope
    assert_error(response, 404, "not_found")


def test_revoke_api_token_with_malformed_id_returns_422(api, tenant_a):
    # Given a path id that is not a UUID
    # When it is revoked
    response = api.delete("/v1/api-tokens/not-a-uuid", token=tenant_a.token)

    # Then it is a 422 naming id
    assert_error(response, 422, "validation_error", field="id")


def test_token_created_via_jwt_belongs_to_logged_in_user(api, tenant_a):
    # Given the owner logged in with a password
    jwt = api.post("/v1/auth/token", {"email": tenant_a.owner_email, "password": tenant_a.owner_password}).json

    # When they create an API token with the JWT
    response = api.post("/v1/api-tokens", {"name": "from-jwt"}, token=jwt["access_token"])

    # Then the token is theirs and works
    assert response.status == 201, response.body
    assert response.json["user_id"] == tenant_a.owner_id
    assert api.get("/v1/tenants/me", token=response.json["raw_token"]).status == 200


def test_list_api_tokens_paginates_each_item_once(api, tenant_a):
    # Given tenant A has 5 tokens
    for i in range(4):
        api.post("/v1/api-tokens", {"name": f"t{i}"}, token=tenant_a.token)

    # When it walks the list 2 at a time
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/api-tokens", token=tenant_a.token, query=query)
        assert page.status == 200, page.body
        seen += [t["id"] for t in page.json["data"]]
        cursor = page.json["next_cursor"]
        if not cursor:
            break

    # Then every token appears exactly once
    assert len(seen) == len(set(seen)) == 5
