"""POST /v1/sources/upload through the real handlers: a multipart file in the request itself (base64 in
the Lambda event, as API Gateway sends binary bodies), stored like a presigned upload, then ingested
the same way; the size limit (413 naming `file`), unsupported types, bad fields, roles, tenants."""

from __future__ import annotations

import json

import pytest
from urllib3.filepost import encode_multipart_formdata

from minirag.settings import get_settings
from tests.assertions import assert_error
from tests.factories import make_bot_profile, make_user

GUIDE = b"# Setup\n\nThe gateway restarts when the reset pin is held for ten seconds.\n"


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


def upload(api, token: str, fields: dict, *, headers: dict | None = None):
    body, content_type = encode_multipart_formdata(fields)
    return api.request("POST", "/v1/sources/upload", raw_body=body, token=token,
                       headers={"content-type": content_type, **(headers or {})})


def test_upload_creates_a_source_that_ingests_like_a_presigned_upload(api, tenant_a, bot, ingest_worker):
    # When a markdown file is uploaded with metadata and no name
    response = upload(api, tenant_a.token, {"bot_profile_id": bot["id"], "file": ("guide.md", GUIDE, "text/markdown"),
                                            "metadata": json.dumps({"team": "ops"})})

    # Then the source is created under the file's name, saying what it received
    assert response.status == 201, response.body
    source = response.json
    assert (source["name"], source["source_type"], source["filename"], source["status"]) == (
        "guide.md", "upload", "guide.md", "pending")
    assert source["config"] == {"original_filename": "guide.md", "file_size": len(GUIDE)}
    assert source["metadata"] == {"team": "ops"}

    # And ingesting it makes the file's text retrievable
    assert api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token).status == 202
    ingest_worker.drain()
    ready = api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).json
    assert (ready["status"], ready["document_count"]) == ("ready", 1)
    hits = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": "reset pin ten seconds", "mode": "sparse",
                                     "top_k": 1, "min_score": 0.0}, token=tenant_a.token).json["data"]
    assert hits[0]["source_id"] == source["id"] and "reset pin" in hits[0]["text"]


def test_upload_takes_a_name_and_keeps_only_the_base_name_of_the_file(api, tenant_a, bot):
    response = upload(api, tenant_a.token, {"bot_profile_id": bot["id"], "name": "Ops guide",
                                            "file": ("docs/sub/guide.md", GUIDE, "text/markdown")})
    assert response.status == 201, response.body
    assert (response.json["name"], response.json["filename"]) == ("Ops guide", "guide.md")


def test_upload_above_the_direct_limit_is_a_413_naming_file(api, tenant_a, bot, monkeypatch):
    # Given a direct upload limit of 2,000 bytes
    monkeypatch.setenv("UPLOAD_DIRECT_MAX_BYTES", "2000")
    get_settings.cache_clear()

    # When a 3,000-byte file is uploaded
    big = ("big.txt", b"x" * 3000, "text/plain")
    response = upload(api, tenant_a.token, {"bot_profile_id": bot["id"], "file": big})

    # Then it is refused naming the field and the way for larger files, and no source exists
    error = assert_error(response, 413, "payload_too_large", field="file")
    assert "2000 bytes" in error["message"] and "presigned" in error["message"]
    assert api.get("/v1/sources", token=tenant_a.token).json == []
    # While a file within the limit passes
    ok = upload(api, tenant_a.token, {"bot_profile_id": bot["id"], "file": ("ok.txt", b"x" * 1500, "text/plain")})
    assert ok.status == 201, ok.body


def test_upload_of_an_unsupported_type_is_a_422_saying_so(api, tenant_a, bot):
    response = upload(api, tenant_a.token, {"bot_profile_id": bot["id"], "file": ("tool.exe", b"MZ..", "x/y")})
    error = assert_error(response, 422, field="file")
    assert "Unsupported file type" in response.json["detail"] and "'.exe'" in error["message"]


@pytest.mark.parametrize(("fields", "field"), [
    ({"file": ("a.md", GUIDE, "text/markdown")}, "bot_profile_id"),
    ({"bot_profile_id": "not-a-uuid", "file": ("a.md", GUIDE, "text/markdown")}, "bot_profile_id"),
    ({"bot_profile_id": "BOT"}, "file"),
    ({"bot_profile_id": "BOT", "file": ("a.md", b"", "text/markdown")}, "file"),
    ({"bot_profile_id": "BOT", "file": ("a.md", GUIDE, "text/markdown"), "metadata": "[1]"}, "metadata"),
    ({"bot_profile_id": "BOT", "file": ("a.md", GUIDE, "text/markdown"), "metadata": "{nope"}, "metadata"),
    ({"bot_profile_id": "BOT", "file": ("a.md", GUIDE, "text/markdown"), "name": "n" * 201}, "name"),
])
def test_upload_bad_fields_are_422s_naming_the_field(api, tenant_a, bot, fields, field):
    fields = {k: (bot["id"] if v == "BOT" else v) for k, v in fields.items()}
    assert_error(upload(api, tenant_a.token, fields), 422, field=field)


def test_a_member_cannot_upload_an_admin_can(api, tenant_a, bot):
    member, admin = make_user(api, tenant_a, role="member"), make_user(api, tenant_a, role="admin")
    fields = {"bot_profile_id": bot["id"], "file": ("a.md", GUIDE, "text/markdown")}
    error = assert_error(upload(api, member["token"], fields), 403)
    assert "sources:write" in error["message"]
    assert upload(api, admin["token"], fields).status == 201


def test_upload_for_another_tenants_bot_is_refused_like_a_missing_bot(api, tenant_a, tenant_b, bot):
    foreign = upload(api, tenant_b.token, {"bot_profile_id": bot["id"], "file": ("a.md", GUIDE, "text/markdown")})
    assert foreign.status == 422 and foreign.json["error"]["details"][0]["field"] == "bot_profile_id"
    assert "bot_profile_id" in foreign.error_fields()
    assert api.get("/v1/sources", token=tenant_b.token).json == []


def test_upload_through_the_local_runner(tenant_a, bot, api):
    """The local runner serves the route (it reads template.yaml) and takes a body larger than
    MAX_REQUEST_BYTES on it: over real HTTP, as `curl -F file=@guide.md` would send it."""
    from starlette.testclient import TestClient

    from minirag.local.server import build_local_app

    big = GUIDE * (2 * get_settings().max_request_bytes // len(GUIDE))
    with TestClient(build_local_app(api.template, get_settings()), base_url="http://127.0.0.1:8000") as client:
        response = client.post("/v1/sources/upload", headers={"authorization": f"Bearer {tenant_a.token}"},
                               data={"bot_profile_id": bot["id"]}, files={"file": ("big.md", big, "text/markdown")})
    assert response.status_code == 201, response.text
    assert response.json()["config"]["file_size"] == len(big)
