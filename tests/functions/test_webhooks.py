"""Webhooks over the API: create (the secret once), list, get, update, delete, rotate the secret,
bad input (422 naming the field), another tenant's webhook (404)."""

from __future__ import annotations

import socket
import uuid

import pytest

from tests.assertions import assert_error

PUBLIC_IP = "93.184.215.14"


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch):
    """`hooks.example.com` resolves to a public address (no network in tests); anything else as usual."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port or 443))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def create(api, tenant, **overrides):
    body = {"url": "https://hooks.example.com/minirag", "events": ["source.ingested"], **overrides}
    return api.post("/v1/webhooks", body, token=tenant.token)


def test_create_shows_the_secret_once_and_never_again(api, tenant_a, public_dns):
    # When A creates a webhook
    created = create(api, tenant_a, events=["source.ingested", "chat.message"], description="CRM sync")

    # Then it answers 201 with its fields and a Standard Webhooks secret
    assert created.status == 201, created.body
    hook = created.json
    assert hook["url"] == "https://hooks.example.com/minirag"
    assert hook["events"] == ["source.ingested", "chat.message"]
    assert hook["description"] == "CRM sync" and hook["is_active"] is True and hook["created_at"]
    secret = hook["secret"]
    assert secret.startswith("whsec_")
    import base64

    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32

    # And neither GET nor the list ever shows it again
    got = api.get(f"/v1/webhooks/{hook['id']}", token=tenant_a.token)
    listed = api.get("/v1/webhooks", token=tenant_a.token)
    assert got.status == 200 and listed.status == 200
    assert "secret" not in got.json and secret not in got.body.decode()
    assert [w["id"] for w in listed.json["data"]] == [hook["id"]]
    assert secret not in listed.body.decode() and secret.removeprefix("whsec_") not in listed.body.decode()


def test_secret_is_stored_encrypted(api, tenant_a, public_dns, tenant_rows):
    from minirag.db.models import Webhook

    secret = create(api, tenant_a).json["secret"]
    [row] = tenant_rows(tenant_a, Webhook)
    assert secret not in row.secret_encrypted and secret.removeprefix("whsec_") not in row.secret_encrypted
    from minirag.security.fernet import decrypt_secret

    assert decrypt_secret(row.secret_encrypted) == secret


def test_update_events_url_and_deactivate_then_delete(api, tenant_a, public_dns):
    hook = create(api, tenant_a).json

    updated = api.patch(f"/v1/webhooks/{hook['id']}", {"events": ["source.failed"], "is_active": False,
                                                        "description": "paused"}, token=tenant_a.token)
    assert updated.status == 200, updated.body
    assert updated.json["events"] == ["source.failed"] and updated.json["is_active"] is False
    assert "secret" not in updated.json

    deleted = api.delete(f"/v1/webhooks/{hook['id']}", token=tenant_a.token)
    assert deleted.status == 204
    assert_error(api.get(f"/v1/webhooks/{hook['id']}", token=tenant_a.token), 404, "not_found")


def test_rotate_secret_shows_a_new_secret_once(api, tenant_a, public_dns):
    hook = create(api, tenant_a).json
    rotated = api.post(f"/v1/webhooks/{hook['id']}/rotate-secret", token=tenant_a.token)
    assert rotated.status == 200, rotated.body
    assert rotated.json["secret"].startswith("whsec_") and rotated.json["secret"] != hook["secret"]


@pytest.mark.parametrize("body, field", [
    ({"events": ["source.deleted"]}, "events"),
    ({"events": []}, "events"),
    ({"url": "ftp://hooks.example.com/x"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": "http://10.1.2.3/hook"}, "url"),
    ({"url": "http://169.254.169.254/latest"}, "url"),
    ({"url": "http://127.0.0.1:9/hook"}, "url"),
    ({"secret": "whsec_mine"}, "secret"),
])
def test_bad_input_is_422_naming_the_field(api, tenant_a, public_dns, body, field):
    response = create(api, tenant_a, **body)
    assert_error(response, 422, field=field)
    assert api.get("/v1/webhooks", token=tenant_a.token).json["data"] == []


def test_update_to_a_private_address_is_422_naming_url(api, tenant_a, public_dns):
    hook = create(api, tenant_a).json
    response = api.patch(f"/v1/webhooks/{hook['id']}", {"url": "http://192.168.0.10/x"}, token=tenant_a.token)
    assert_error(response, 422, field="url")
    response = api.patch(f"/v1/webhooks/{hook['id']}", {"events": ["nope"]}, token=tenant_a.token)
    assert_error(response, 422, field="events")
    assert api.get(f"/v1/webhooks/{hook['id']}", token=tenant_a.token).json["url"] == hook["url"]


def test_other_tenants_webhook_is_404_like_a_missing_one(api, tenant_a, tenant_b, public_dns):
    hook = create(api, tenant_a).json
    for method, suffix, body in (("GET", "", None), ("PATCH", "", {"description": "B"}), ("DELETE", "", None),
                                 ("POST", "/test", None), ("POST", "/rotate-secret", None),
                                 ("GET", "/deliveries", None)):
        foreign = api.request(method, f"/v1/webhooks/{hook['id']}{suffix}", json_body=body, token=tenant_b.token)
        missing = api.request(method, f"/v1/webhooks/{uuid.uuid4()}{suffix}", json_body=body, token=tenant_b.token)
        assert_error(foreign, 404, "not_found")
        assert foreign.body == missing.body
    assert api.get("/v1/webhooks", token=tenant_b.token).json["data"] == []
    assert api.get(f"/v1/webhooks/{hook['id']}", token=tenant_a.token).json["description"] is None
