"""The seed system's wire contract: a client written for it works against MiniRAG unchanged
(request aliases, the fields it reads, lists as JSON arrays with the next cursor in headers,
visible and reversible deactivation)."""

from __future__ import annotations

import uuid

from tests.assertions import assert_error
from tests.factories import make_bot_profile, make_ingested_source, make_source

# -- bootstrap and tokens ---------------------------------------------------------------------------


def test_bootstrap_takes_owner_display_name_and_answers_the_seed_fields(api):
    # When a seed client bootstraps with its body
    response = api.post("/v1/tenants", {"tenant_name": "Acme", "tenant_slug": "acme-wire",
                                        "owner_email": "ada@acme.example.com", "owner_password": "correct-horse-1",
                                        "owner_display_name": "Ada Lovelace"})

    # Then it gets the tenant with plan and is_active, the owner with the display name, and the token twice
    assert response.status == 201, response.body
    body = response.json
    assert {k: body["tenant"][k] for k in ("name", "slug", "plan", "is_active")} == {
        "name": "Acme", "slug": "acme-wire", "plan": "free", "is_active": True}
    assert body["owner"]["display_name"] == "Ada Lovelace"
    assert isinstance(body["api_token"], str) and body["api_token"] == body["raw_token"]
    me = api.get("/v1/auth/me", token=body["api_token"])
    assert me.status == 200 and me.json["user"]["display_name"] == "Ada Lovelace"
    assert me.json["tenant"]["plan"] == "free"


def test_bootstrap_display_name_too_long_names_the_field(api):
    response = api.post("/v1/tenants", {"tenant_name": "Acme", "tenant_slug": "acme-long",
                                        "owner_email": "ada@acme.example.com", "owner_password": "correct-horse-1",
                                        "owner_display_name": "x" * 201})
    assert_error(response, 422, field="owner_display_name")


def test_token_create_and_list_show_the_token_prefix(api, tenant_a):
    created = api.post("/v1/api-tokens", {"name": "ci"}, token=tenant_a.token)
    assert created.status == 201, created.body
    body = created.json
    assert body["name"] == "ci" and body["raw_token"].startswith(body["token_prefix"])
    assert len(body["token_prefix"]) < len(body["raw_token"])
    listed = api.get("/v1/api-tokens", token=tenant_a.token)
    assert listed.status == 200
    assert {t["id"]: t["token_prefix"] for t in listed.json}[body["id"]] == body["token_prefix"]
    assert body["raw_token"] not in listed.body.decode()


# -- bots -------------------------------------------------------------------------------------------


def test_bot_takes_description_and_credentials_and_shows_them(api, tenant_a):
    response = api.post("/v1/bot-profiles", {"name": "Helper", "description": "answers HR questions",
                                             "credentials": {"api_key": "sk-test-1234567890"}},
                        token=tenant_a.token)
    assert response.status == 201, response.body
    bot = response.json
    assert bot["description"] == "answers HR questions"
    assert bot["has_credentials"] is True and bot["has_provider_key"] is True and bot["is_active"] is True
    assert bot["max_tokens"] == 1024
    assert "sk-test-1234567890" not in response.body.decode()
    cleared = api.patch(f"/v1/bot-profiles/{bot['id']}", {"credentials": None}, token=tenant_a.token)
    assert cleared.status == 200 and cleared.json["has_credentials"] is False


def test_bot_with_both_credentials_and_provider_api_key_is_a_422(api, tenant_a):
    response = api.post("/v1/bot-profiles", {"name": "Helper", "credentials": {"api_key": "sk-aaaaaaaaaa"},
                                             "provider_api_key": "sk-bbbbbbbbbb"}, token=tenant_a.token)
    error = assert_error(response, 422)
    assert response.error_fields() & {"credentials", "provider_api_key"}, error


def test_bot_credentials_without_api_key_names_the_field(api, tenant_a):
    response = api.post("/v1/bot-profiles", {"name": "Helper", "credentials": {"key": "x"}}, token=tenant_a.token)
    assert_error(response, 422)
    assert any(f and f.startswith("credentials") for f in response.error_fields()), response.body


# -- sources ----------------------------------------------------------------------------------------


def test_source_takes_description_and_config_url(api, tenant_a):
    bot = make_bot_profile(api, tenant_a)
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Docs", "source_type": "url",
                                        "description": "the public docs",
                                        "config": {"url": "https://93.184.215.14/docs"}}, token=tenant_a.token)
    assert response.status == 201, response.body
    source = response.json
    assert source["description"] == "the public docs"
    assert source["url"] == "https://93.184.215.14/docs"
    assert source["config"] == {"url": "https://93.184.215.14/docs"}
    assert source["status"] == "pending" and source["chunk_count"] == 0


def test_source_config_url_is_vetted_like_url(api, tenant_a):
    bot = make_bot_profile(api, tenant_a)
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Local", "source_type": "url",
                                        "config": {"url": "http://127.0.0.1/admin"}}, token=tenant_a.token)
    assert_error(response, 422)
    assert response.error_fields() & {"config.url", "url"}, response.body


def test_source_with_url_and_config_url_is_a_422(api, tenant_a):
    bot = make_bot_profile(api, tenant_a)
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Docs", "source_type": "url",
                                        "url": "https://93.184.215.14/a",
                                        "config": {"url": "https://93.184.215.14/b"}}, token=tenant_a.token)
    assert_error(response, 422)
    assert response.error_fields() & {"config.url", "url"}, response.body


def test_upload_source_config_shows_the_original_filename(api, tenant_a):
    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"], source_type="upload", content=None, filename="guide.txt")
    assert source["config"]["original_filename"] == "guide.txt"


def test_source_for_missing_or_foreign_bot_is_a_422_naming_bot_profile_id(api, tenant_a, tenant_b):
    foreign_bot = make_bot_profile(api, tenant_b)
    body = {"name": "Doc", "source_type": "text", "content": "hello"}
    foreign = api.post("/v1/sources", {**body, "bot_profile_id": foreign_bot["id"]}, token=tenant_a.token)
    missing = api.post("/v1/sources", {**body, "bot_profile_id": str(uuid.uuid4())}, token=tenant_a.token)
    assert_error(foreign, 422, field="bot_profile_id")
    assert foreign.body == missing.body
    assert api.get("/v1/sources", token=tenant_a.token).json == []


def test_ingest_answers_202_with_status_and_message(api, tenant_a, ingest_worker):
    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"])
    response = api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token)
    assert response.status == 202, response.body
    assert response.json["status"] == "queued" and response.json["message"]
    assert response.json["id"] == source["id"]
    ingest_worker.drain()
    ready = api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).json
    assert ready["status"] == "ready" and ready["chunk_count"] >= 1


def test_failed_ingest_shows_status_error_and_filters_by_it(api, tenant_a, ingest_worker):
    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"], source_type="upload", content=None, filename="broken.pdf")
    from urllib.parse import urlparse

    from minirag.storage.uploads import LOCAL_UPLOAD_PATH, get_storage

    key, _ = get_storage().verify_token(urlparse(source["upload"]["url"]).path.removeprefix(LOCAL_UPLOAD_PATH))
    get_storage().write(key, b"%PDF-1.4 this is not a pdf")
    assert api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token).status == 202
    ingest_worker.drain()
    failed = api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).json
    assert failed["status"] == "error" and failed["last_error"], failed
    listed = api.get("/v1/sources", token=tenant_a.token, query={"status": "error"})
    assert [s["id"] for s in listed.json] == [source["id"]]
    assert_error(api.get("/v1/sources", token=tenant_a.token, query={"status": "failed"}), 422, field="status")


# -- chat -------------------------------------------------------------------------------------------


def test_chat_answers_message_sources_and_usage_with_model(api, tenant_a, ingest_worker):
    bot = make_bot_profile(api, tenant_a)
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker)
    response = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": "When does the office open?"},
                        token=tenant_a.token)
    assert response.status == 200, response.body
    body = response.json
    assert body["message"] == {"id": body["message_id"], "role": "assistant", "content": body["answer"]}
    assert body["sources"] == body["citations"] and body["sources"]
    assert body["usage"]["model"] == bot["model"]
    assert {"prompt_tokens", "completion_tokens", "total_tokens"} <= set(body["usage"])
    chat = api.get(f"/v1/chat/{body['chat_id']}", token=tenant_a.token).json
    assert chat["title"] == "When does the office open?" and chat["message_count"] == 2


def test_streamed_done_event_carries_the_same_fields(api, tenant_a, ingest_worker):
    import json

    bot = make_bot_profile(api, tenant_a)
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker)
    response = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": "When does the office open?",
                                     "stream": True}, token=tenant_a.token)
    assert response.status == 200, response.body
    events = [block for block in response.body.decode().split("\n\n") if block.startswith("event: done")]
    done = json.loads(events[0].split("data: ", 1)[1])
    assert done["message"]["role"] == "assistant" and done["message"]["content"] == done["answer"]
    assert done["sources"] == done["citations"] and done["usage"]["model"] == bot["model"]


# -- lists ------------------------------------------------------------------------------------------


def test_lists_are_arrays_with_the_next_cursor_in_headers(api, tenant_a):
    for n in range(3):
        make_bot_profile(api, tenant_a, name=f"bot {n}")
    first = api.get("/v1/bot-profiles", token=tenant_a.token, query={"limit": 2})
    assert first.status == 200 and isinstance(first.json, list) and len(first.json) == 2
    cursor = first.headers["x-next-cursor"]
    link = first.headers["link"]
    assert link.endswith('>; rel="next"') and f"cursor={cursor}" in link and "limit=2" in link
    assert link.startswith("</v1/bot-profiles?")
    second = api.get("/v1/bot-profiles", token=tenant_a.token, query={"limit": 2, "cursor": cursor})
    assert len(second.json) == 1
    assert "x-next-cursor" not in second.headers and "link" not in second.headers
    assert {b["id"] for b in first.json}.isdisjoint({b["id"] for b in second.json})


def test_every_list_route_answers_an_array(api, tenant_a, ingest_worker):
    bot = make_bot_profile(api, tenant_a)
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker)
    chat = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": "hello"}, token=tenant_a.token).json
    hook = api.post("/v1/webhooks", {"url": "http://93.184.215.14/hooks", "events": ["chat.message"]},
                    token=tenant_a.token).json
    for path in ("/v1/api-tokens", "/v1/bot-profiles", "/v1/sources", "/v1/chat",
                 f"/v1/chat/{chat['chat_id']}/messages", "/v1/users", "/v1/webhooks"):
        response = api.get(path, token=tenant_a.token, query={"limit": 1})
        assert response.status == 200 and isinstance(response.json, list) and len(response.json) == 1, path
    deliveries = api.get(f"/v1/webhooks/{hook['id']}/deliveries", token=tenant_a.token)
    assert deliveries.status == 200 and deliveries.json == []


LIST_ROUTES = {"/v1/api-tokens", "/v1/bot-profiles", "/v1/sources", "/v1/chat", "/v1/chat/{id}/messages",
               "/v1/users", "/v1/webhooks", "/v1/webhooks/{id}/deliveries", "/v1/sources/{id}/children",
               "/v1/sources/{id}/documents"}


def test_openapi_documents_every_list_as_an_array_with_the_paging_headers():
    from starlette.testclient import TestClient

    from minirag.local.server import build_local_app
    from minirag.local.template import load_template
    from minirag.settings import get_settings
    from tests.conftest import ROOT

    with TestClient(build_local_app(load_template(str(ROOT / "template.yaml")), get_settings())) as client:
        spec = client.get("/openapi.json").json()
    arrays = set()
    for path, operations in spec["paths"].items():
        ok = operations.get("get", {}).get("responses", {}).get("200", {})
        schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
        paged = "cursor" in {p["name"] for p in operations.get("get", {}).get("parameters", [])}
        if schema.get("type") == "array" and paged:
            arrays.add(path)
            assert {"Link", "X-Next-Cursor"} <= set(ok.get("headers", {})), path
    assert arrays == LIST_ROUTES


# -- deactivation -----------------------------------------------------------------------------------


def test_deactivated_bot_is_visible_reversible_and_cannot_chat(api, tenant_a):
    bot = make_bot_profile(api, tenant_a)
    assert api.delete(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).status == 204
    shown = api.get(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token)
    assert shown.status == 200 and shown.json["is_active"] is False
    assert api.get("/v1/bot-profiles", token=tenant_a.token).json == []
    listed = api.get("/v1/bot-profiles", token=tenant_a.token, query={"include_inactive": "true"}).json
    assert [b["id"] for b in listed] == [bot["id"]]
    chat = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": "hi"}, token=tenant_a.token)
    assert_error(chat, 409, "bot_inactive", field="bot_profile_id")
    assert "deactivated" in chat.json["detail"]
    retrieve = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": "hi"}, token=tenant_a.token)
    assert_error(retrieve, 409, "bot_inactive", field="bot_profile_id")
    reactivated = api.patch(f"/v1/bot-profiles/{bot['id']}", {"is_active": True}, token=tenant_a.token)
    assert reactivated.status == 200 and reactivated.json["is_active"] is True
    assert [b["id"] for b in api.get("/v1/bot-profiles", token=tenant_a.token).json] == [bot["id"]]


def test_patch_is_active_false_deactivates_a_bot_like_delete(api, tenant_a):
    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"])
    response = api.patch(f"/v1/bot-profiles/{bot['id']}", {"is_active": False}, token=tenant_a.token)
    assert response.status == 200 and response.json["is_active"] is False
    assert api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).json["is_active"] is False


def test_deactivated_other_tenants_bot_stays_404_for_chat(api, tenant_a, tenant_b):
    bot = make_bot_profile(api, tenant_a)
    assert api.delete(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).status == 204
    foreign = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": "hi"}, token=tenant_b.token)
    missing = api.post("/v1/chat", {"bot_profile_id": str(uuid.uuid4()), "message": "hi"}, token=tenant_b.token)
    assert_error(foreign, 404, "not_found", field="bot_profile_id")
    assert foreign.body == missing.body
    assert api.get(f"/v1/bot-profiles/{bot['id']}", token=tenant_b.token).status == 404


def test_source_deactivation_is_reversible_end_to_end(api, tenant_a, ingest_worker):
    # Given an ingested source that retrieval finds
    bot = make_bot_profile(api, tenant_a)
    source = make_ingested_source(api, tenant_a, bot["id"], ingest_worker)
    query = {"bot_profile_id": bot["id"], "query": "When does the office open?", "mode": "sparse"}

    def found() -> bool:
        response = api.post("/v1/retrieve", query, token=tenant_a.token)
        assert response.status == 200, response.body
        return any(c["source_id"] == source["id"] for c in response.json["data"])

    assert found()

    # When it is deactivated (and the purge runs), it is shown inactive, listed only on request, and not found
    assert api.delete(f"/v1/sources/{source['id']}", token=tenant_a.token).status == 204
    assert not found()
    ingest_worker.drain()
    shown = api.get(f"/v1/sources/{source['id']}", token=tenant_a.token)
    assert shown.status == 200 and shown.json["is_active"] is False
    assert api.get("/v1/sources", token=tenant_a.token).json == []
    assert [s["id"] for s in api.get("/v1/sources", token=tenant_a.token,
                                     query={"include_inactive": "true"}).json] == [source["id"]]

    # When it is reactivated, it says it needs an ingest and is still not served
    reactivated = api.patch(f"/v1/sources/{source['id']}", {"is_active": True}, token=tenant_a.token)
    assert reactivated.status == 200, reactivated.body
    assert reactivated.json["is_active"] is True and reactivated.json["status"] == "pending"
    assert reactivated.json["needs_ingest"] is True and "ingest" in reactivated.json["message"]
    assert not found()

    # And after an ingest retrieval finds it again
    assert api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token).status == 202
    ingest_worker.drain()
    assert api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).json["status"] == "ready"
    assert found()


def test_patch_is_active_false_deactivates_a_source(api, tenant_a):
    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"])
    response = api.patch(f"/v1/sources/{source['id']}", {"is_active": False}, token=tenant_a.token)
    assert response.status == 200 and response.json["is_active"] is False
    assert api.get("/v1/sources", token=tenant_a.token).json == []


def test_ingest_of_a_deactivated_source_is_a_409(api, tenant_a):
    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"])
    assert api.delete(f"/v1/sources/{source['id']}", token=tenant_a.token).status == 204
    response = api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token)
    assert_error(response, 409, "source_inactive")
