"""TenantsFunction: POST /v1/tenants (bootstrap) and GET /v1/tenants/me, through the real handler."""

from __future__ import annotations

import json

import pytest

from tests.assertions import assert_error
from tests.conftest import bootstrap_tenant


def _bootstrap_body(**overrides):
    return {"tenant_name": "Acme", "tenant_slug": "acme", "owner_email": "owner@acme.example.com",
            "owner_password": "correct-horse-battery", **overrides}


def test_bootstrap_tenant_returns_201_and_a_working_token(api):
    # Given a new tenant's details
    body = _bootstrap_body()

    # When the tenant is bootstrapped
    response = api.post("/v1/tenants", body)

    # Then it answers 201 with the tenant, its owner and a first API token shown once
    assert response.status == 201, response.body
    data = response.json
    assert data["tenant"]["slug"] == "acme" and data["tenant"]["name"] == "Acme"
    assert data["owner"]["email"] == "owner@acme.example.com" and data["owner"]["role"] == "owner"
    assert data["raw_token"].startswith("mrg_")
    assert data["raw_token"].startswith(data["token"]["token_prefix"]) and data["api_token"] == data["raw_token"]
    assert "password" not in response.body.decode() and "correct-horse-battery" not in response.body.decode()
    # And the raw token authenticates as that tenant and owner
    me = api.get("/v1/tenants/me", token=data["raw_token"])
    assert me.status == 200, me.body
    assert me.json["tenant"]["id"] == data["tenant"]["id"]
    assert me.json["user"]["id"] == data["owner"]["id"]


def test_bootstrap_with_taken_slug_returns_409_slug_taken(api, tenant_a):
    # Given tenant "tenant-a" exists
    # When another bootstrap uses the same slug
    response = api.post("/v1/tenants", _bootstrap_body(tenant_slug=tenant_a.slug))

    # Then it is a 409 slug_taken naming tenant_slug, its top-level detail naming the slug
    assert_error(response, 409, "slug_taken", field="tenant_slug")
    assert tenant_a.slug in response.json["detail"]


def test_bootstrap_with_a_registered_email_returns_201_like_any_other(api, tenant_a):
    # Given tenant A's owner email is registered
    # When another tenant bootstraps with the same email in another case
    response = api.post("/v1/tenants", _bootstrap_body(owner_email=tenant_a.owner_email.upper()))

    # Then it is created (emails are unique per tenant), so sign-up tells nobody the email was known
    assert response.status == 201, response.body
    assert response.json["owner"]["email"] == tenant_a.owner_email


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("owner_email", "not-an-email"),
        ("owner_email", "two@@example.com"),
        ("tenant_slug", "Has Spaces"),
        ("tenant_slug", "ab"),
        ("tenant_slug", "-leading-hyphen"),
        ("owner_password", "short"),
        ("tenant_name", ""),
    ],
)
def test_bootstrap_with_invalid_field_returns_422_naming_it(api, field, value):
    # Given a bootstrap body with one invalid field
    body = _bootstrap_body(**{field: value})

    # When it is sent
    response = api.post("/v1/tenants", body)

    # Then it is a 422 whose details name that field, and nothing was created
    assert_error(response, 422, "validation_error", field=field)
    assert api.post("/v1/tenants", _bootstrap_body()).status == 201


def test_bootstrap_with_missing_field_returns_422_naming_it(api):
    # Given a body without the owner password
    body = _bootstrap_body()
    del body["owner_password"]

    # When it is sent
    response = api.post("/v1/tenants", body)

    # Then the 422 names the missing field
    assert_error(response, 422, "validation_error", field="owner_password")


def test_bootstrap_with_unknown_field_returns_422_naming_it(api):
    # Given a body with a field the API does not know
    body = _bootstrap_body(plan="enterprise")

    # When it is sent
    response = api.post("/v1/tenants", body)

    # Then the 422 names the unknown field
    error = assert_error(response, 422, "validation_error", field="plan")
    assert any(d["reason"] == "unknown field" for d in error["details"])


@pytest.mark.parametrize("raw", ['{"tenant_name": "Acme", ', "not json at all", "[1, 2"])
def test_bootstrap_with_malformed_json_returns_422(api, raw):
    # Given a body that is not valid JSON
    # When it is sent
    response = api.post("/v1/tenants", raw_body=raw)

    # Then it is a 422 validation error in the envelope
    error = assert_error(response, 422, "validation_error")
    assert any("JSON" in d["reason"] for d in error["details"])


def test_bootstrap_with_malformed_json_says_where(api):
    # Given a body that breaks off after a comma, on its second line
    raw = '{"tenant_name": "Acme",\n "tenant_slug": }'

    # When it is sent
    response = api.post("/v1/tenants", raw_body=raw)

    # Then the message says it is malformed JSON, with line and column, and no detail names a byte offset
    error = assert_error(response, 422, "validation_error", field="body")
    assert error["message"] == "the request body is malformed JSON at line 2, column 17: Expecting value", error
    assert [d["field"] for d in error["details"]] == ["body"]


def test_bootstrap_with_short_password_says_characters(api):
    # Given a 5-character password
    # When a tenant is bootstrapped with it
    response = api.post("/v1/tenants", _bootstrap_body(owner_password="short"))

    # Then the 422 names the field and counts characters (not "items"), without echoing the password
    error = assert_error(response, 422, "validation_error", field="owner_password")
    assert error["message"] == "invalid request: owner_password: should have at least 10 characters", error
    assert "short" not in json.dumps(error["details"])


def test_bootstrap_with_empty_body_returns_422(api):
    # Given no body at all
    # When the bootstrap route is called
    response = api.post("/v1/tenants")

    # Then it is a 422 in the envelope
    assert_error(response, 422, "validation_error")


def test_get_me_returns_the_callers_tenant_and_user(api, tenant_a, tenant_b):
    # Given two tenants
    # When each asks who it is
    me_a = api.get("/v1/tenants/me", token=tenant_a.token)
    me_b = api.get("/v1/tenants/me", token=tenant_b.token)

    # Then each sees only itself
    assert me_a.status == me_b.status == 200
    assert (me_a.json["tenant"]["id"], me_a.json["user"]["email"]) == (tenant_a.id, tenant_a.owner_email)
    assert (me_b.json["tenant"]["id"], me_b.json["user"]["email"]) == (tenant_b.id, tenant_b.owner_email)
    assert "password_hash" not in me_a.json["user"]


def test_get_me_without_token_returns_401(api):
    # Given no credentials
    # When /v1/tenants/me is called
    response = api.get("/v1/tenants/me")

    # Then it is a 401 in the envelope
    assert_error(response, 401, "unauthenticated")


def test_bootstrap_second_tenant_is_independent(api, tenant_a):
    # Given tenant A exists
    # When tenant B bootstraps with its own slug and email
    tenant_b = bootstrap_tenant(api, "another-one")

    # Then B's token resolves to B, not A
    assert tenant_b.id != tenant_a.id
    assert api.get("/v1/tenants/me", token=tenant_b.token).json["tenant"]["slug"] == "another-one"
