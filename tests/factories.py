"""Builders for test data, through the public API (never raw SQL), so tests exercise what users do."""

from __future__ import annotations

from typing import Any


def make_bot_profile(api, tenant, **overrides: Any) -> dict[str, Any]:
    body = {"name": "Support bot", "system_prompt": "Answer from the sources.", **overrides}
    response = api.post("/v1/bot-profiles", body, token=tenant.token)
    assert response.status == 201, response.body
    return response.json


def make_source(api, tenant, bot_id: str, **overrides: Any) -> dict[str, Any]:
    body = {"bot_profile_id": bot_id, "name": "Handbook", "source_type": "text",
            "content": "Our office opens at 9am. Refunds are processed within 14 days.", **overrides}
    response = api.post("/v1/sources", body, token=tenant.token)
    assert response.status == 201, response.body
    return response.json


def make_ingested_source(api, tenant, bot_id: str, worker, **overrides: Any) -> dict[str, Any]:
    """A text source, ingested by the real ingest handler (the worker drains the queue); ready."""
    source = make_source(api, tenant, bot_id, **overrides)
    response = api.post(f"/v1/sources/{source['id']}/ingest", token=tenant.token)
    assert response.status == 202, response.body
    worker.drain()
    ready = api.get(f"/v1/sources/{source['id']}", token=tenant.token).json
    assert ready["status"] == "ready", ready
    return ready


def make_uploaded_source(api, tenant, bot_id: str, worker, filename: str, data: bytes,
                         **overrides: Any) -> dict[str, Any]:
    """An upload source whose file was PUT to its (local) presigned URL, then ingested; ready."""
    from urllib.parse import urlparse

    from minirag.storage.uploads import LOCAL_UPLOAD_PATH, get_storage

    source = make_source(api, tenant, bot_id, source_type="upload", content=None, filename=filename, **overrides)
    key, _ = get_storage().verify_token(urlparse(source["upload"]["url"]).path.removeprefix(LOCAL_UPLOAD_PATH))
    get_storage().write(key, data)
    response = api.post(f"/v1/sources/{source['id']}/ingest", token=tenant.token)
    assert response.status == 202, response.body
    worker.drain()
    ready = api.get(f"/v1/sources/{source['id']}", token=tenant.token).json
    assert ready["status"] == "ready", ready
    return ready


def make_user(api, tenant, *, role: str = "member", email: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A team member created by the tenant's owner, logged in: the user plus a JWT under "token"."""
    import uuid

    email = email or f"{role}-{uuid.uuid4().hex[:8]}@{tenant.slug}.example.com"
    password = f"pw-{role}-battery-staple"
    body = {"email": email, "password": password, "display_name": f"A {role}", "role": role, **overrides}
    response = api.post("/v1/users", body, token=tenant.token)
    assert response.status == 201, response.body
    login = api.post("/v1/auth/token", {"email": email, "password": password, "tenant_slug": tenant.slug})
    assert login.status == 200, login.body
    return {**response.json, "token": login.json["access_token"], "password": password}
