"""AuthFunction (POST /v1/auth/token) and authentication of every protected route: Bearer API
tokens and JWTs; every failure is the same 401 envelope."""

from __future__ import annotations

import uuid

import jwt as pyjwt
import pytest

from minirag.security.jwt import ALGORITHM, AUDIENCE, ISSUER, AccessClaims, issue_access_token
from minirag.settings import get_settings
from tests.assertions import assert_error


def _login(api, email, password):
    return api.post("/v1/auth/token", {"email": email, "password": password})


def test_login_returns_jwt_accepted_as_bearer(api, tenant_a):
    # Given tenant A's owner credentials
    # When the owner logs in
    response = _login(api, tenant_a.owner_email, tenant_a.owner_password)

    # Then a bearer JWT comes back and authenticates as that owner
    assert response.status == 200, response.body
    data = response.json
    assert data["token_type"] == "bearer" and data["expires_in"] == get_settings().jwt_ttl_seconds
    me = api.get("/v1/tenants/me", token=data["access_token"])
    assert me.status == 200, me.body
    assert me.json["user"]["id"] == tenant_a.owner_id and me.json["tenant"]["id"] == tenant_a.id


def test_login_email_is_case_insensitive(api, tenant_a):
    # Given the owner types their email in capitals
    # When they log in
    response = _login(api, tenant_a.owner_email.upper(), tenant_a.owner_password)

    # Then it succeeds
    assert response.status == 200, response.body


def test_login_with_wrong_password_or_unknown_email_returns_identical_401(api, tenant_a):
    # Given a wrong password for a real user, and an email nobody registered
    # When both log in
    wrong_password = _login(api, tenant_a.owner_email, "definitely-not-it")
    unknown_email = _login(api, "nobody@nowhere.example.com", tenant_a.owner_password)

    # Then both are the same 401, so the response does not reveal which emails exist
    assert_error(wrong_password, 401, "unauthenticated")
    assert wrong_password.status == unknown_email.status
    assert wrong_password.body == unknown_email.body


def test_login_with_invalid_email_returns_422(api):
    # Given a malformed email
    # When it logs in
    response = _login(api, "not-an-email", "whatever-password")

    # Then it is a 422 naming the email
    assert_error(response, 422, "validation_error", field="email")


PROTECTED = [("GET", "/v1/tenants/me"), ("GET", "/v1/api-tokens"), ("GET", "/v1/bot-profiles"),
             ("GET", "/v1/sources")]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_request_without_token_returns_401(api, method, path):
    # Given no Authorization header
    # When a protected route is called
    response = api.request(method, path)

    # Then it is a 401 envelope
    assert_error(response, 401, "unauthenticated")


@pytest.mark.parametrize(
    "header",
    ["Bearer mrg_not-a-real-token", "Bearer not-a-jwt", "Bearer ", "Basic dXNlcjpwYXNz", "mrg_token-without-scheme",
     "Bearer a.b.c"],
)
def test_request_with_invalid_credentials_returns_401(api, tenant_a, header):
    # Given a malformed or unknown credential
    # When a protected route is called with it
    response = api.get("/v1/bot-profiles", headers={"authorization": header})

    # Then it is a 401 envelope
    assert_error(response, 401, "unauthenticated")


def test_revoked_token_returns_401(api, tenant_a):
    # Given tenant A revoked its bootstrap token (using a second token)
    second = api.post("/v1/api-tokens", {"name": "second"}, token=tenant_a.token).json
    assert api.delete(f"/v1/api-tokens/{tenant_a.api_token_id}", token=second["raw_token"]).status == 204

    # When the revoked token is used
    response = api.get("/v1/tenants/me", token=tenant_a.token)

    # Then it is a 401 envelope, while the other token still works
    assert_error(response, 401, "unauthenticated")
    assert api.get("/v1/tenants/me", token=second["raw_token"]).status == 200


def test_expired_token_returns_401(api, tenant_a):
    # Given a correctly signed JWT for A's owner that expired a minute ago
    claims = AccessClaims(uuid.UUID(tenant_a.owner_id), uuid.UUID(tenant_a.id), "owner")
    token, _ = issue_access_token(claims, secret=get_settings().require_jwt_secret(), ttl_seconds=-60)

    # When it is used
    response = api.get("/v1/tenants/me", token=token)

    # Then it is a 401 envelope
    assert_error(response, 401, "unauthenticated")


def test_expired_api_token_returns_401(api, tenant_a, monkeypatch):
    # Given an API token created with a 1-day lifetime, now two days old
    from datetime import timedelta

    from minirag.db import system

    created = api.post("/v1/api-tokens", {"name": "short", "expires_in_days": 1}, token=tenant_a.token).json
    assert api.get("/v1/tenants/me", token=created["raw_token"]).status == 200
    later = system.SystemRepository.now() + timedelta(days=2)
    monkeypatch.setattr(system.SystemRepository, "now", staticmethod(lambda: later))

    # When it is used
    response = api.get("/v1/tenants/me", token=created["raw_token"])

    # Then it is a 401 envelope
    assert_error(response, 401, "unauthenticated")


@pytest.mark.parametrize("forgery", ["wrong_secret", "none_alg", "tampered_payload", "wrong_audience"])
def test_forged_jwt_returns_401(api, tenant_a, forgery):
    # Given a JWT claiming to be A's owner that the server did not sign as such
    secret = get_settings().require_jwt_secret()
    payload = {"sub": tenant_a.owner_id, "tid": tenant_a.id, "role": "owner", "iss": ISSUER, "aud": AUDIENCE,
               "iat": 1_700_000_000, "exp": 4_000_000_000}
    if forgery == "wrong_secret":
        token = pyjwt.encode(payload, "some-other-secret-of-enough-length-1234", algorithm=ALGORITHM)
    elif forgery == "none_alg":
        token = pyjwt.encode(payload, None, algorithm="none")
    elif forgery == "wrong_audience":
        token = pyjwt.encode({**payload, "aud": "someone-else"}, secret, algorithm=ALGORITHM)
    else:
        good = pyjwt.encode(payload, secret, algorithm=ALGORITHM)
        header, _, signature = good.split(".")
        other = pyjwt.encode({**payload, "tid": str(uuid.uuid4())}, "x" * 32, algorithm=ALGORITHM).split(".")[1]
        token = f"{header}.{other}.{signature}"

    # When it is used as a Bearer token
    response = api.get("/v1/tenants/me", token=token)

    # Then it is a 401 envelope
    assert_error(response, 401, "unauthenticated")


def test_jwt_for_user_of_another_tenant_claim_returns_401(api, tenant_a, tenant_b):
    # Given a validly signed JWT that pairs A's owner with B's tenant id
    claims = AccessClaims(uuid.UUID(tenant_a.owner_id), uuid.UUID(tenant_b.id), "owner")
    token, _ = issue_access_token(claims, secret=get_settings().require_jwt_secret(), ttl_seconds=600)

    # When it is used
    response = api.get("/v1/bot-profiles", token=token)

    # Then it is a 401: the user must belong to the tenant the token names
    assert_error(response, 401, "unauthenticated")


def test_all_auth_failures_share_one_envelope_shape(api, tenant_a):
    # Given several kinds of bad credentials
    responses = [api.get("/v1/bot-profiles", token=t) for t in ("mrg_unknown", "garbage", "a.b.c")]

    # Then they are all 401 with the same code
    assert {r.status for r in responses} == {401}
    assert {r.error_code for r in responses} == {"unauthenticated"}
