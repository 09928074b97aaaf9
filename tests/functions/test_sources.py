"""SourcesFunction: text / url / upload sources, filters, PATCH rules, ingest requests (queued +
message), size limits; and the HTTP contract every function shares (x-request-id, generic 500)."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlparse

import pytest

from minirag.documents.formats import CONTENT_TYPE_KINDS, EXTENSION_KINDS, detect_kind
from minirag.queue.embedded import get_embedded_queue
from minirag.settings import get_settings
from minirag.storage.uploads import LOCAL_UPLOAD_PATH, get_storage
from tests.assertions import assert_error
from tests.factories import make_bot_profile, make_source

MISSING_ID = "00000000-0000-4000-8000-000000000000"


def _queued_messages() -> list[dict]:
    return [json.loads(m.body) for m in get_embedded_queue().receive(100)]


def _simulate_upload(upload: dict, data: bytes) -> None:
    """What the client's PUT to the presigned URL does (the local runner's endpoint is tested in tests/local)."""
    storage = get_storage()
    token = urlparse(upload["url"]).path.removeprefix(LOCAL_UPLOAD_PATH)
    key, _ = storage.verify_token(token)
    storage.write(key, data)


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


@pytest.fixture(autouse=True)
def example_com_resolves(monkeypatch):
    """example.com names resolve to a public address, as on the Internet (the test machine may have
    no DNS); every other name goes to the real resolver (`.invalid` never resolves: RFC 6761)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and (host == "example.com" or host.endswith(".example.com")):
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("93.184.215.14", port or 443))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(("url", "reason"), [
    ("https://no-such-host.invalid/docs", "the host 'no-such-host.invalid' does not exist"),
    ("http://127.0.0.1:8080/admin", "refusing to fetch '127.0.0.1': it points to a non-public address (loopback)"),
    ("http://10.1.2.3/internal", "refusing to fetch '10.1.2.3': it points to a non-public address (private)"),
    ("http://169.254.169.254/latest/meta-data", "(cloud metadata)"),
])
def test_create_url_source_that_can_never_be_fetched_returns_422_naming_url(api, tenant_a, bot, url, reason):
    # Given a URL whose host does not exist or is not public
    # When a URL source is created with it
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Docs", "source_type": "url",
                                        "url": url}, token=tenant_a.token)

    # Then it is refused at once: a 422 naming url that says why, and nothing was created
    error = assert_error(response, 422, "invalid_input", field="url")
    assert reason in error["message"], error
    assert api.get("/v1/sources", token=tenant_a.token).json == []


def test_patch_url_to_a_private_host_returns_422_naming_url(api, tenant_a, bot):
    # Given a URL source
    source = make_source(api, tenant_a, bot["id"], source_type="url", content=None, url="https://example.com/x")

    # When its url is changed to a private address
    response = api.patch(f"/v1/sources/{source['id']}", {"url": "http://192.168.1.10/"}, token=tenant_a.token)

    # Then it is refused naming url, and the source keeps its url
    assert "private" in assert_error(response, 422, "invalid_input", field="url")["message"]
    assert api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).json["url"] == "https://example.com/x"


def test_create_loopback_url_source_with_url_fetch_allow_private_returns_201(api, tenant_a, bot, monkeypatch):
    # Given URL_FETCH_ALLOW_PRIVATE (a page served on one's own machine)
    monkeypatch.setenv("URL_FETCH_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()

    # When a URL source on 127.0.0.1 is created
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Local", "source_type": "url",
                                        "url": "http://127.0.0.1:8765/page.html"}, token=tenant_a.token)

    # Then it is accepted
    assert response.status == 201, response.body


@pytest.mark.parametrize(("field", "value", "why"), [
    ("source_type", "text", "create a new source of the other type"),
    ("bot_profile_id", MISSING_ID, "create it again under the other bot"),
])
def test_patch_fixed_source_field_says_it_cannot_be_changed(api, tenant_a, bot, field, value, why):
    # Given a text source
    source = make_source(api, tenant_a, bot["id"])

    # When a field fixed at creation is patched
    response = api.patch(f"/v1/sources/{source['id']}", {field: value}, token=tenant_a.token)

    # Then the 422 names it and says it cannot be changed, and why
    error = assert_error(response, 422, "validation_error", field=field)
    assert f"{field}: cannot be changed after creation" in error["message"] and why in error["message"], error


def test_create_text_source_returns_201_pending(api, tenant_a, bot):
    # Given a bot profile
    # When a text source is created
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "FAQ", "source_type": "text",
                                        "content": "Hello world", "metadata": {"lang": "en"}}, token=tenant_a.token)

    # Then it answers 201, pending, with the content summarised as its length
    assert response.status == 201, response.body
    source = response.json
    assert (source["source_type"], source["status"], source["version"]) == ("text", "pending", 0)
    assert source["content_chars"] == 11 and "content" not in source
    assert source["metadata"] == {"lang": "en"} and source["upload"] is None
    assert source["bot_profile_id"] == bot["id"]
    # And it reads back the same (without the one-off upload field)
    got = api.get(f"/v1/sources/{source['id']}", token=tenant_a.token)
    assert got.status == 200 and got.json == {k: v for k, v in source.items() if k != "upload"}


def test_create_url_source_returns_201(api, tenant_a, bot):
    # Given a bot profile
    # When a URL source is created
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Docs", "source_type": "url",
                                        "url": "https://docs.example.com/guide"}, token=tenant_a.token)

    # Then it answers 201 with the url
    assert response.status == 201, response.body
    assert response.json["url"] == "https://docs.example.com/guide" and response.json["content_chars"] is None


def test_create_upload_source_returns_presigned_put(api, tenant_a, bot):
    # Given a bot profile
    # When an upload source is created
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Manual", "source_type": "upload",
                                        "filename": "manual.pdf"}, token=tenant_a.token)

    # Then it answers 201 with PUT instructions for the file
    assert response.status == 201, response.body
    source = response.json
    assert source["filename"] == "manual.pdf" and source["content_type"] == "application/pdf"
    upload = source["upload"]
    assert upload["method"] == "PUT" and upload["url"].startswith("http")
    assert upload["headers"] == {"Content-Type": "application/pdf"} and upload["max_bytes"] > 0
    # And a fresh URL can be asked for later
    again = api.post(f"/v1/sources/{source['id']}/upload-url", token=tenant_a.token)
    assert again.status == 200 and again.json["method"] == "PUT"


@pytest.mark.parametrize("extension", sorted(EXTENSION_KINDS))
def test_create_upload_source_accepts_every_extension_extraction_reads(api, tenant_a, bot, extension):
    # Given a file name with an extension the extractor reads
    filename = f"file{extension.upper()}"

    # When an upload source is created for it
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Any", "source_type": "upload",
                                        "filename": filename}, token=tenant_a.token)

    # Then it answers 201, and the content type it presigns is one the extractor maps to the same kind
    assert response.status == 201, response.body
    content_type = response.json["content_type"]
    assert response.json["upload"]["headers"] == {"Content-Type": content_type}
    assert CONTENT_TYPE_KINDS[content_type] == EXTENSION_KINDS[extension]
    assert detect_kind(b"", filename=filename, content_type=content_type) == EXTENSION_KINDS[extension]


def test_create_upload_source_for_a_dotfile_returns_422_naming_filename(api, tenant_a, bot):
    # Given a dotfile, which has no extension (as the extractor sees it)
    # When an upload source is created for it
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Dot", "source_type": "upload",
                                        "filename": ".md"}, token=tenant_a.token)

    # Then it is a 422 naming filename
    assert_error(response, 422, "invalid_input", field="filename")


def test_create_upload_source_with_unsupported_extension_returns_422_naming_filename(api, tenant_a, bot):
    # Given a file type the ingest cannot read
    # When an upload source is created for it
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Binary", "source_type": "upload",
                                        "filename": "program.exe"}, token=tenant_a.token)

    # Then it is a 422 naming filename whose top-level detail says so, and no source was created
    assert_error(response, 422, field="filename")
    assert "Unsupported file type" in response.json["detail"]
    assert api.get("/v1/sources", token=tenant_a.token).json == []


@pytest.mark.parametrize(
    "body",
    [
        {"source_type": "text"},
        {"source_type": "text", "content": "x", "url": "https://example.com/a"},
        {"source_type": "url", "content": "some text"},
        {"source_type": "upload", "url": "https://example.com/a"},
        {"source_type": "url", "url": "ftp://example.com/file"},
        {"source_type": "pdf", "content": "x"},
        {"source_type": "upload", "filename": "../../etc/passwd.txt"},
    ],
)
def test_create_source_with_type_field_mismatch_returns_422(api, tenant_a, bot, body):
    # Given fields that do not fit the source type
    # When the source is created
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Bad", **body}, token=tenant_a.token)

    # Then it is a 422 and nothing was created
    assert_error(response, 422, "validation_error")
    assert api.get("/v1/sources", token=tenant_a.token).json == []


def test_create_source_for_other_tenants_bot_returns_422_naming_bot_profile_id(api, tenant_a, tenant_b, bot):
    # Given tenant A's bot profile
    # When tenant B creates a source pointing at it
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Sneaky", "source_type": "text",
                                        "content": "x"}, token=tenant_b.token)

    # Then it is the same 422 as for a missing bot, naming bot_profile_id (the body refers to it)
    assert_error(response, 422, "invalid_input", field="bot_profile_id")
    missing = api.post("/v1/sources", {"bot_profile_id": MISSING_ID, "name": "Sneaky", "source_type": "text",
                                       "content": "x"}, token=tenant_b.token)
    assert missing.body == response.body
    # And no source exists for either tenant
    assert api.get("/v1/sources", token=tenant_b.token).json == []
    assert api.get("/v1/sources", token=tenant_a.token).json == []


def test_create_source_for_deactivated_bot_returns_409_saying_so(api, tenant_a, bot):
    # Given a deactivated bot profile
    assert api.delete(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).status == 204

    # When a source is created for it
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Late", "source_type": "text",
                                        "content": "x"}, token=tenant_a.token)

    # Then it is a 409 naming bot_profile_id: the tenant's own bot, deactivated (reactivate it first)
    assert_error(response, 409, "bot_inactive", field="bot_profile_id")


def test_list_sources_filters_by_bot_profile_and_status(api, tenant_a, bot):
    # Given two bots with sources, one of which is queued for ingest
    other_bot = make_bot_profile(api, tenant_a, name="Other")
    s1 = make_source(api, tenant_a, bot["id"], name="one")
    s2 = make_source(api, tenant_a, bot["id"], name="two")
    s3 = make_source(api, tenant_a, other_bot["id"], name="three")
    assert api.post(f"/v1/sources/{s2['id']}/ingest", token=tenant_a.token).status == 202

    def ids(**query):
        response = api.get("/v1/sources", token=tenant_a.token, query=query)
        assert response.status == 200, response.body
        return {s["id"] for s in response.json}

    # When the list is filtered
    # Then each filter returns exactly the matching sources
    assert ids() == {s1["id"], s2["id"], s3["id"]}
    assert ids(bot_profile_id=bot["id"]) == {s1["id"], s2["id"]}
    assert ids(bot_profile_id=other_bot["id"]) == {s3["id"]}
    assert ids(status="queued") == {s2["id"]}
    assert ids(status="pending", bot_profile_id=bot["id"]) == {s1["id"]}
    assert ids(status="ready") == set()
    assert ids(bot_profile_id=MISSING_ID) == set()


def test_list_sources_with_invalid_filter_returns_422(api, tenant_a):
    # Given filters that are not valid values
    # When the list is requested
    bad_status = api.get("/v1/sources", token=tenant_a.token, query={"status": "done"})
    bad_bot = api.get("/v1/sources", token=tenant_a.token, query={"bot_profile_id": "nope"})

    # Then each is a 422 naming the filter
    assert_error(bad_status, 422, "validation_error", field="status")
    assert_error(bad_bot, 422, "validation_error", field="bot_profile_id")


def test_patch_text_source_changes_only_sent_fields(api, tenant_a, bot):
    # Given a text source
    source = make_source(api, tenant_a, bot["id"], metadata={"a": 1})

    # When only its content is patched
    response = api.patch(f"/v1/sources/{source['id']}", {"content": "New text"}, token=tenant_a.token)

    # Then the content changed, and the name and metadata did not
    assert response.status == 200, response.body
    assert response.json["content_chars"] == len("New text")
    assert (response.json["name"], response.json["metadata"]) == (source["name"], {"a": 1})


def test_patch_content_on_url_source_returns_422(api, tenant_a, bot):
    # Given a URL source
    source = make_source(api, tenant_a, bot["id"], source_type="url", content=None, url="https://example.com/x")

    # When its content is patched
    response = api.patch(f"/v1/sources/{source['id']}", {"content": "text"}, token=tenant_a.token)

    # Then it is a 422 naming content, and the source is unchanged
    assert_error(response, 422, field="content")
    got = api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).json
    assert got["content_chars"] is None and got["url"] == "https://example.com/x"


def test_patch_url_on_text_source_returns_422(api, tenant_a, bot):
    # Given a text source
    source = make_source(api, tenant_a, bot["id"])

    # When its url is patched
    response = api.patch(f"/v1/sources/{source['id']}", {"url": "https://example.com/"}, token=tenant_a.token)

    # Then it is a 422 naming url
    assert_error(response, 422, field="url")


def test_patch_source_name_to_null_returns_422(api, tenant_a, bot):
    # Given a text source
    source = make_source(api, tenant_a, bot["id"])

    # When its name is patched to null
    response = api.patch(f"/v1/sources/{source['id']}", {"name": None}, token=tenant_a.token)

    # Then it is a 422 naming name
    assert_error(response, 422, field="name")


def test_ingest_source_returns_202_queued_and_publishes_message(api, tenant_a, bot):
    # Given a text source
    source = make_source(api, tenant_a, bot["id"])

    # When ingestion is requested twice
    first = api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token)
    second = api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token)

    # Then each answers 202 queued with a new version
    assert first.status == second.status == 202, (first.body, second.body)
    assert (first.json["status"], first.json["version"]) == ("queued", 1)
    assert (second.json["status"], second.json["version"]) == ("queued", 2)
    assert second.json["queued_at"] is not None
    # And one message per request lands on the queue, for this tenant, source and version
    messages = _queued_messages()
    assert [(m["tenant_id"], m["source_id"], m["version"], m["kind"]) for m in messages] == [
        (tenant_a.id, source["id"], 1, "plan"), (tenant_a.id, source["id"], 2, "plan")]
    # And the source reads as queued
    assert api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).json["status"] == "queued"


def test_ingest_upload_source_without_file_returns_409_upload_missing(api, tenant_a, bot):
    # Given an upload source whose file was never uploaded
    source = make_source(api, tenant_a, bot["id"], source_type="upload", content=None, filename="notes.txt")

    # When ingestion is requested
    response = api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token)

    # Then it is a 409 upload_missing; nothing was queued and the source is still pending
    assert_error(response, 409, "upload_missing")
    assert _queued_messages() == []
    got = api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).json
    assert (got["status"], got["version"]) == ("pending", 0)


def test_ingest_upload_source_after_upload_returns_202(api, tenant_a, bot):
    # Given an upload source whose file has been PUT to its URL
    source = make_source(api, tenant_a, bot["id"], source_type="upload", content=None, filename="notes.md")
    _simulate_upload(source["upload"], b"# Notes\n\nSome text.")

    # When ingestion is requested
    response = api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token)

    # Then it is queued
    assert response.status == 202, response.body
    assert response.json["status"] == "queued" and len(_queued_messages()) == 1


def test_ingest_upload_larger_than_upload_max_bytes_returns_413(api, tenant_a, bot, monkeypatch):
    # Given an uploaded file of 100 bytes, and UPLOAD_MAX_BYTES lowered to 50 afterwards
    from minirag.settings import get_settings

    source = make_source(api, tenant_a, bot["id"], source_type="upload", content=None, filename="big.txt")
    _simulate_upload(source["upload"], b"a" * 100)
    monkeypatch.setenv("UPLOAD_MAX_BYTES", "50")
    get_settings.cache_clear()

    # When ingestion is requested
    response = api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token)

    # Then it is a 413 naming the upload, and nothing was queued
    assert_error(response, 413, "payload_too_large", field="upload")
    assert _queued_messages() == []


def test_ingest_when_queue_is_down_returns_502_and_marks_source_failed(api, tenant_a, bot, monkeypatch):
    # Given a text source, and a queue that refuses messages
    from minirag.errors import UpstreamUnavailable
    from minirag.queue.publisher import EmbeddedPublisher

    source = make_source(api, tenant_a, bot["id"])

    def refuse(self, messages):
        raise UpstreamUnavailable("could not enqueue the ingest request; try again")

    monkeypatch.setattr(EmbeddedPublisher, "publish", refuse)

    # When ingestion is requested
    response = api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token)

    # Then it is a retryable 502, and the source says why instead of staying queued forever
    assert_error(response, 502, "upstream_unavailable")
    got = api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).json
    assert got["status"] == "error" and got["last_error"]


def test_upload_url_for_text_source_returns_422(api, tenant_a, bot):
    # Given a text source
    source = make_source(api, tenant_a, bot["id"])

    # When an upload URL is asked for
    response = api.post(f"/v1/sources/{source['id']}/upload-url", token=tenant_a.token)

    # Then it is a 422
    assert_error(response, 422)


def test_deactivate_source_hides_it_and_enqueues_purge(api, tenant_a, bot):
    # Given a source
    source = make_source(api, tenant_a, bot["id"])

    # When it is deactivated
    response = api.delete(f"/v1/sources/{source['id']}", token=tenant_a.token)

    # Then it answers 204, reads as inactive, is listed only on request, and a purge is queued
    assert response.status == 204
    got = api.get(f"/v1/sources/{source['id']}", token=tenant_a.token)
    assert got.status == 200 and got.json["is_active"] is False
    assert api.get("/v1/sources", token=tenant_a.token).json == []
    listed = api.get("/v1/sources", token=tenant_a.token, query={"include_inactive": "true"}).json
    assert [s["id"] for s in listed] == [source["id"]]
    assert [(m["kind"], m["source_id"]) for m in _queued_messages()] == [("purge", source["id"])]
    # And it cannot be ingested until reactivated (409 saying so)
    assert_error(api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token), 409, "source_inactive")


def test_list_sources_pagination_returns_each_item_once(api, tenant_a, bot):
    # Given 5 sources
    ids = {make_source(api, tenant_a, bot["id"], name=f"s{i}")["id"] for i in range(5)}

    # When the list is walked 2 at a time
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/sources", token=tenant_a.token, query=query)
        assert page.status == 200, page.body
        seen += [s["id"] for s in page.json]
        cursor = page.headers.get("x-next-cursor")
        if not cursor:
            break

    # Then every source appears exactly once
    assert len(seen) == len(set(seen)) == 5 and set(seen) == ids


def test_list_sources_with_bad_cursor_returns_422_naming_cursor(api, tenant_a):
    # Given a made-up cursor
    # When the list is requested with it
    response = api.get("/v1/sources", token=tenant_a.token, query={"cursor": "bogus"})

    # Then it is a 422 naming cursor
    assert_error(response, 422, field="cursor")


# -- limits ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "no-content-length"])
def test_body_over_max_request_bytes_returns_413(api, tenant_a, bot, declare_length):
    # Given a body larger than MAX_REQUEST_BYTES (with and without a Content-Length header)
    from minirag.settings import get_settings

    limit = get_settings().max_request_bytes
    body = json.dumps({"bot_profile_id": bot["id"], "name": "Huge", "source_type": "text",
                       "content": "x" * (limit + 1)})
    headers = {"content-length": str(len(body.encode()))} if declare_length else None

    # When it is sent
    response = api.post("/v1/sources", raw_body=body, token=tenant_a.token, headers=headers)

    # Then it is a 413 envelope, and nothing was created
    assert_error(response, 413, "payload_too_large")
    assert "x" * 100 not in response.body.decode()
    assert api.get("/v1/sources", token=tenant_a.token).json == []


def test_max_request_bytes_is_read_at_request_time(api, tenant_a, bot, monkeypatch):
    # Given MAX_REQUEST_BYTES lowered to 2048 after the sources function was imported and served
    from minirag.settings import get_settings

    assert api.get("/v1/sources", token=tenant_a.token).status == 200
    monkeypatch.setenv("MAX_REQUEST_BYTES", "2048")
    get_settings.cache_clear()

    # When a 3000-byte body is sent
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Mid", "source_type": "text",
                                        "content": "z" * 3000}, token=tenant_a.token)

    # Then the new limit applies
    assert_error(response, 413, "payload_too_large")


def test_text_content_over_max_text_source_chars_returns_413_naming_content(api, tenant_a, bot, monkeypatch):
    # Given MAX_TEXT_SOURCE_CHARS is 100
    from minirag.settings import get_settings

    monkeypatch.setenv("MAX_TEXT_SOURCE_CHARS", "100")
    get_settings.cache_clear()

    # When a text source of 101 characters is created, and an existing one is patched to 101
    created = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Long", "source_type": "text",
                                       "content": "y" * 101}, token=tenant_a.token)
    small = make_source(api, tenant_a, bot["id"], content="y" * 100)
    patched = api.patch(f"/v1/sources/{small['id']}", {"content": "y" * 101}, token=tenant_a.token)

    # Then both are 413 naming content, and only the 100-character source exists
    assert_error(created, 413, "payload_too_large", field="content")
    assert_error(patched, 413, "payload_too_large", field="content")
    listed = api.get("/v1/sources", token=tenant_a.token).json
    assert [(s["id"], s["content_chars"]) for s in listed] == [(small["id"], 100)]


# -- the HTTP contract shared by every function ------------------------------------------------------

def test_every_response_has_x_request_id(api, tenant_a, bot):
    # Given responses of every kind: success, 201, 204, 401, 404, 413, 422 across functions
    source = make_source(api, tenant_a, bot["id"])
    responses = [
        api.get("/v1/tenants/me", token=tenant_a.token),
        api.post("/v1/auth/token", {"email": "nobody@example.com", "password": "x"}),
        api.post("/v1/api-tokens", {"name": "x"}, token=tenant_a.token),
        api.get(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token),
        api.delete(f"/v1/sources/{source['id']}", token=tenant_a.token),
        api.get("/v1/sources"),
        api.get(f"/v1/sources/{MISSING_ID}", token=tenant_a.token),
        api.post("/v1/sources", raw_body="{", token=tenant_a.token),
        api.post("/v1/sources", raw_body="x" * 2_000_000, token=tenant_a.token),
    ]

    # Then each carries a non-empty x-request-id header
    assert {r.status for r in responses} >= {200, 201, 204, 401, 404, 413, 422}
    for response in responses:
        assert response.headers.get("x-request-id"), (response.status, response.headers)


def test_unexpected_exception_returns_500_without_exception_text(api, tenant_a, monkeypatch):
    # Given a service that fails with an unexpected error carrying sensitive text
    from minirag.services.sources import SourceService

    def boom(*_args, **_kwargs):
        raise RuntimeError("connection to db-password-hunter2 failed")

    monkeypatch.setattr(SourceService, "list", boom)

    # When the route is called
    response = api.get("/v1/sources", token=tenant_a.token)

    # Then it is a generic 500 internal_error with a request id, and the exception text is not sent
    error = assert_error(response, 500, "internal_error")
    assert "hunter2" not in response.body.decode() and "RuntimeError" not in response.body.decode()
    assert "x-request-id" in error["message"] and response.headers["x-request-id"]
