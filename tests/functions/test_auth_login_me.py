"""AuthFunction's POST /v1/auth/login (the same login as /v1/auth/token, the same throttle) and
GET /v1/auth/me (the caller's own user and tenant)."""

from __future__ import annotations

from minirag.settings import get_settings
from tests.assertions import assert_error


def _login(api, email, password, path="/v1/auth/login"):
    return api.post(path, {"email": email, "password": password})


def test_login_returns_jwt_that_authenticates_as_the_user(api, tenant_a):
    # Given tenant A's owner credentials
    # When the owner logs in on /v1/auth/login
    response = _login(api, tenant_a.owner_email, tenant_a.owner_password)

    # Then a bearer JWT comes back, and /v1/auth/me with it is that owner in tenant A
    assert response.status == 200, response.body
    data = response.json
    assert data["token_type"] == "bearer" and data["expires_in"] == get_settings().jwt_ttl_seconds
    me = api.get("/v1/auth/me", token=data["access_token"])
    assert me.status == 200, me.body
    assert me.json["user"]["id"] == tenant_a.owner_id and me.json["user"]["email"] == tenant_a.owner_email
    assert me.json["tenant"]["id"] == tenant_a.id and me.json["tenant"]["slug"] == tenant_a.slug


def test_login_with_wrong_password_or_unknown_email_returns_the_token_routes_401(api, tenant_a):
    # Given a wrong password and an unknown email
    # When both log in on /v1/auth/login, and the wrong password on /v1/auth/token
    wrong = _login(api, tenant_a.owner_email, "definitely-not-it")
    unknown = _login(api, "nobody@nowhere.example.com", tenant_a.owner_password)
    legacy = _login(api, tenant_a.owner_email, "definitely-not-it", path="/v1/auth/token")

    # Then all three are the same 401
    assert_error(wrong, 401, "unauthenticated")
    assert wrong.body == unknown.body == legacy.body


def test_login_and_token_routes_share_one_throttle(api, tenant_a, clock):
    # Given 3 wrong passwords on /v1/auth/token and 2 on /v1/auth/login
    wrong = [_login(api, tenant_a.owner_email, f"guess-{i}", path="/v1/auth/token") for i in range(3)]
    wrong += [_login(api, tenant_a.owner_email, f"guess-{i}") for i in range(3, 5)]

    # When a 6th attempt comes on /v1/auth/login, even with the right password
    throttled = _login(api, tenant_a.owner_email, tenant_a.owner_password)

    # Then the switch of route did not reset the count: a 429 naming the account
    assert [r.status for r in wrong] == [401] * 5
    assert_error(throttled, 429, "login_throttled", field="email")
    assert throttled.headers["retry-after"] == "30"


def test_login_with_invalid_body_returns_422_naming_the_field(api):
    # Given a malformed email / When it logs in / Then a 422 names email
    assert_error(_login(api, "not-an-email", "whatever-password"), 422, "validation_error", field="email")


def test_me_with_api_token_shows_own_user_and_tenant_only(api, tenant_a, tenant_b):
    # Given two tenants
    # When B asks who it is with its API token
    me = api.get("/v1/auth/me", token=tenant_b.token)

    # Then it is B's owner in B's tenant, and nothing of A
    assert me.status == 200, me.body
    assert me.json["user"]["id"] == tenant_b.owner_id and me.json["tenant"]["id"] == tenant_b.id
    assert tenant_a.id not in me.body.decode() and tenant_a.owner_email not in me.body.decode()


def test_me_without_or_with_bad_token_returns_401(api, tenant_a):
    # Given no credential, and a made-up one / When they call /v1/auth/me / Then 401 both times
    assert_error(api.get("/v1/auth/me"), 401, "unauthenticated")
    assert_error(api.get("/v1/auth/me", token="mrag_not-a-real-token"), 401, "unauthenticated")
