"""The local runner (`minirag dev`): an ASGI app that routes by template.yaml to the real handlers.
Most checks use Starlette's TestClient; one serves the app with uvicorn on 127.0.0.1 and walks the
README's curl flow (bootstrap -> bot -> upload source -> PUT file -> ingest) over real HTTP."""

from __future__ import annotations

import copy
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import yaml
from starlette.testclient import TestClient

from minirag.local.server import build_local_app
from minirag.local.template import TemplateError, load_template, parse_template
from minirag.queue.embedded import get_embedded_queue
from minirag.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"


def _trimmed_template(tmp_path: Path, keep: set[str]) -> Path:
    """A copy of template.yaml with only the functions in `keep`, beside a link to the real functions/."""
    raw = copy.deepcopy(load_template(str(TEMPLATE_PATH)).raw)  # intrinsics in their long form (Ref, Fn::...)
    resources = raw["Resources"]
    for logical_id in [k for k, v in resources.items()
                       if v["Type"] == "AWS::Serverless::Function" and k not in keep]:
        del resources[logical_id]
    (tmp_path / "functions").symlink_to(ROOT / "functions")
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


CRUD_FUNCTIONS = {"TenantsFunction", "AuthFunction", "ApiTokensFunction", "BotProfilesFunction", "SourcesFunction"}


@pytest.fixture
def crud_client(tmp_path) -> TestClient:
    """The runner over the CRUD functions only (no model runtime needed)."""
    template = parse_template(_trimmed_template(tmp_path, CRUD_FUNCTIONS))
    with TestClient(build_local_app(template, get_settings()), base_url="http://127.0.0.1:8000") as client:
        yield client


def _bootstrap(client, slug: str = "local-a") -> str:
    response = client.post("/v1/tenants", json={"tenant_name": "Local", "tenant_slug": slug,
                                                "owner_email": f"owner@{slug}.example.com",
                                                "owner_password": "correct-horse-battery"})
    assert response.status_code == 201, response.text
    return response.json()["raw_token"]


def _assert_envelope(response, status: int, code: str) -> None:
    """The functions' envelope (minirag.errors.error_body), also for the runner's own answers."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and body["error"]["code"] == code and body["error"]["message"]
    assert body["detail"] == body["error"]["message"]
    assert set(body["error"]) == {"code", "message", "details"} and body["error"]["details"] == []
    assert response.headers["x-request-id"]


# -- start-up ------------------------------------------------------------------------------------

def test_openapi_lists_every_template_route():
    # Given the runner built from the real template (all functions)
    template = load_template(str(TEMPLATE_PATH))
    with TestClient(build_local_app(template, get_settings())) as client:
        # When the OpenAPI document is fetched
        response = client.get("/openapi.json")

    # Then every template route (path + method) is documented, and nothing else, but for the
    # dashboard's and widget's static files and the CORS preflights (not operations of the API)
    assert response.status_code == 200
    document = response.json()
    paths = document["paths"]
    documented = {f"{method.upper()} {path}" for path, ops in paths.items() for method in ops}
    not_operations = {"GET /dashboard", "GET /dashboard/{proxy+}", "GET /widget/{proxy+}", "OPTIONS /v1/{proxy+}"}
    assert documented == {r.route_key for r in template.routes} - not_operations
    # And operation ids are unique across functions
    operation_ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_openapi_merge_keeps_each_functions_schemas_intact():
    # Given the runner built from the real template
    template = load_template(str(TEMPLATE_PATH))
    app = build_local_app(template, get_settings())
    merged = app.state.openapi["components"]["schemas"]

    # Then a schema name used by several functions means the same schema in each (none overwritten)
    assert set(app.state.apps) == {f.logical_id for f in {r.function for r in template.routes}}
    for logical_id, function_app in app.state.apps.items():
        for name, schema in function_app.openapi().get("components", {}).get("schemas", {}).items():
            assert merged[name] == schema, f"{logical_id}'s schema {name} differs from the merged one"


def test_missing_function_file_fails_at_start_up(tmp_path):
    # Given a template whose function folder has no app.py
    (tmp_path / "template.yaml").write_text(yaml.safe_dump({
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {"GhostFunction": {"Type": "AWS::Serverless::Function", "Properties": {
            "CodeUri": "functions/ghost/", "Handler": "app.handler",
            "Events": {"Get": {"Type": "HttpApi", "Properties": {"Path": "/v1/ghosts", "Method": "GET"}}}}}},
    }))
    template = parse_template(tmp_path / "template.yaml")

    # When the runner is built
    # Then it fails at once, naming the function
    with pytest.raises(TemplateError, match="GhostFunction"):
        build_local_app(template, get_settings())


def test_function_without_handler_attribute_fails_at_start_up(tmp_path):
    # Given a function file that defines no `handler`
    (tmp_path / "functions" / "empty").mkdir(parents=True)
    (tmp_path / "functions" / "empty" / "app.py").write_text("app = None\n")
    (tmp_path / "template.yaml").write_text(yaml.safe_dump({
        "Resources": {"EmptyFunction": {"Type": "AWS::Serverless::Function", "Properties": {
            "CodeUri": "functions/empty/", "Handler": "app.handler",
            "Events": {"Get": {"Type": "HttpApi", "Properties": {"Path": "/v1/empty", "Method": "GET"}}}}}},
    }))

    # When the runner is built
    # Then it fails at start-up naming the missing attribute
    with pytest.raises(TemplateError, match="handler"):
        build_local_app(parse_template(tmp_path / "template.yaml"), get_settings())


# -- routing -------------------------------------------------------------------------------------

def test_unknown_route_returns_404_envelope(crud_client):
    # Given the runner
    # When a path no template route matches is requested
    response = crud_client.get("/v1/nothing-here")

    # Then it is the 404 envelope
    _assert_envelope(response, 404, "not_found")


def test_wrong_method_on_known_path_returns_405_envelope(crud_client):
    # Given /v1/tenants accepts only POST
    # When it is called with PUT and GET
    put = crud_client.put("/v1/tenants", json={})
    get = crud_client.get("/v1/tenants")

    # Then each is the 405 envelope
    _assert_envelope(put, 405, "method_not_allowed")
    _assert_envelope(get, 405, "method_not_allowed")


def test_runner_passes_path_query_headers_and_body_to_the_handler(crud_client):
    # Given a tenant and a bot created through the runner
    token = _bootstrap(crud_client)
    headers = {"authorization": f"Bearer {token}"}
    bot = crud_client.post("/v1/bot-profiles", json={"name": "Local bot"}, headers=headers).json()

    # When it is read by id, and listed with a query string
    got = crud_client.get(f"/v1/bot-profiles/{bot['id']}", headers=headers)
    listed = crud_client.get("/v1/bot-profiles", params={"limit": 1}, headers=headers)

    # Then the handler saw the path parameter, the query, the header and the body
    assert got.status_code == 200 and got.json() == bot
    assert listed.status_code == 200 and [b["id"] for b in listed.json()] == [bot["id"]]
    assert got.headers["x-request-id"]
    assert crud_client.get("/v1/bot-profiles", params={"limit": 0}, headers=headers).status_code == 422


def test_healthz_reports_ok(crud_client):
    # Given the runner
    # When its health endpoint is called
    response = crud_client.get("/healthz")

    # Then it is ok and counts the routes it serves
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_foreign_id_through_runner_is_the_same_404_as_missing(crud_client):
    # Given tenant A's bot, and tenant B, both created through the runner
    a = {"authorization": f"Bearer {_bootstrap(crud_client, 'runner-a')}"}
    b = {"authorization": f"Bearer {_bootstrap(crud_client, 'runner-b')}"}
    bot = crud_client.post("/v1/bot-profiles", json={"name": "A's bot"}, headers=a).json()

    # When B reads and patches A's bot, and a random id, over HTTP
    foreign = [crud_client.get(f"/v1/bot-profiles/{bot['id']}", headers=b),
               crud_client.patch(f"/v1/bot-profiles/{bot['id']}", json={"name": "B"}, headers=b)]
    missing = [crud_client.get("/v1/bot-profiles/00000000-0000-4000-8000-000000000000", headers=b),
               crud_client.patch("/v1/bot-profiles/00000000-0000-4000-8000-000000000000", json={"name": "B"},
                                 headers=b)]

    # Then each answer is byte-identical to the missing-id one, and A's bot is unchanged
    for f, m in zip(foreign, missing, strict=False):
        assert (f.status_code, f.content) == (m.status_code, m.content) and f.status_code == 404
    assert crud_client.get(f"/v1/bot-profiles/{bot['id']}", headers=a).json() == bot


# -- the local stand-in for S3 presigned PUTs ----------------------------------------------------------

def _upload_source(client, headers) -> dict:
    bot = client.post("/v1/bot-profiles", json={"name": "Uploader"}, headers=headers).json()
    response = client.post("/v1/sources", json={"bot_profile_id": bot["id"], "name": "Notes", "source_type": "upload",
                                                "filename": "notes.txt"}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_local_upload_put_stores_file_and_ingest_accepts_it(crud_client):
    # Given an upload source, whose file is not there yet
    headers = {"authorization": f"Bearer {_bootstrap(crud_client)}"}
    source = _upload_source(crud_client, headers)
    assert crud_client.post(f"/v1/sources/{source['id']}/ingest", headers=headers).status_code == 409

    # When the file is PUT to the signed URL
    upload = source["upload"]
    put = crud_client.put(urlparse(upload["url"]).path, content=b"Opening hours: 9 to 5.", headers=upload["headers"])

    # Then it is stored, and ingest is accepted
    assert put.status_code == 200, put.text
    ingest = crud_client.post(f"/v1/sources/{source['id']}/ingest", headers=headers)
    assert ingest.status_code == 202 and ingest.json()["status"] == "queued"


@pytest.mark.parametrize("tamper", ["signature", "payload", "no_signature"])
def test_local_upload_put_with_tampered_url_returns_403(crud_client, tamper):
    # Given a signed upload URL, altered
    headers = {"authorization": f"Bearer {_bootstrap(crud_client)}"}
    source = _upload_source(crud_client, headers)
    path = urlparse(source["upload"]["url"]).path
    token = path.rsplit("/", 1)[1]
    payload, _, signature = token.rpartition(".")
    if tamper == "signature":
        token = f"{payload}.{signature[:-1]}{'0' if signature[-1] != '0' else '1'}"
    elif tamper == "payload":
        token = f"{payload[:-2]}AA.{signature}"
    else:
        token = payload

    # When a file is PUT to it
    response = crud_client.put(f"/_local/uploads/{token}", content=b"evil")

    # Then it is refused with 403, and the source still has no file
    _assert_envelope(response, 403, "forbidden")
    assert crud_client.post(f"/v1/sources/{source['id']}/ingest", headers=headers).status_code == 409


def test_local_upload_put_over_max_bytes_returns_413(crud_client, monkeypatch):
    # Given UPLOAD_MAX_BYTES is 10 and an upload source signed with that limit
    from minirag.storage import uploads

    monkeypatch.setenv("UPLOAD_MAX_BYTES", "10")
    get_settings.cache_clear()
    uploads.get_storage.cache_clear()
    headers = {"authorization": f"Bearer {_bootstrap(crud_client)}"}
    source = _upload_source(crud_client, headers)

    # When 11 bytes are PUT
    response = crud_client.put(urlparse(source["upload"]["url"]).path, content=b"x" * 11)

    # Then it is a 413 and nothing was stored
    _assert_envelope(response, 413, "payload_too_large")
    assert crud_client.post(f"/v1/sources/{source['id']}/ingest", headers=headers).status_code == 409


# -- over real HTTP on the loopback ----------------------------------------------------------------------

@pytest.fixture
def live_server(tmp_path, monkeypatch):
    """The runner served by uvicorn on 127.0.0.1 (a free port), in a thread."""
    import uvicorn

    from minirag.storage import uploads

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections queue in the backlog until uvicorn accepts them: no polling needed
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("PUBLIC_BASE_URL", base_url)  # upload URLs point at this server
    get_settings.cache_clear()
    uploads.get_storage.cache_clear()

    template = parse_template(_trimmed_template(tmp_path, CRUD_FUNCTIONS))
    server = uvicorn.Server(uvicorn.Config(build_local_app(template, get_settings()), log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_curl_flow_over_loopback_queues_ingest(live_server):
    # Given the runner listening on 127.0.0.1
    with httpx.Client(base_url=live_server, timeout=30) as http:
        # When a user bootstraps a tenant
        boot = http.post("/v1/tenants", json={"tenant_name": "Curl", "tenant_slug": "curl-co",
                                              "owner_email": "me@curl.example.com",
                                              "owner_password": "correct-horse-battery"})
        assert boot.status_code == 201, boot.text
        auth = {"Authorization": f"Bearer {boot.json()['raw_token']}"}

        # ... creates a bot and an upload source
        bot = http.post("/v1/bot-profiles", json={"name": "Curl bot"}, headers=auth)
        assert bot.status_code == 201, bot.text
        source = http.post("/v1/sources", json={"bot_profile_id": bot.json()["id"], "name": "Guide",
                                                "source_type": "upload", "filename": "guide.md"}, headers=auth)
        assert source.status_code == 201, source.text
        upload = source.json()["upload"]

        # ... PUTs the file to the URL exactly as returned (curl -X PUT --upload-file)
        put = httpx.put(upload["url"], content=b"# Guide\n\nThe office opens at 9am.", headers=upload["headers"])
        assert put.status_code == 200, put.text

        # ... and asks for ingestion
        ingest = http.post(f"/v1/sources/{source.json()['id']}/ingest", headers=auth)

        # Then the source is queued, a message waits for the worker, and every answer had a request id
        assert ingest.status_code == 202, ingest.text
        listed = http.get("/v1/sources", params={"status": "queued"}, headers=auth)
        assert [s["id"] for s in listed.json()] == [source.json()["id"]]
        assert len(get_embedded_queue()) == 1
        for response in (boot, bot, source, ingest, listed):
            assert response.headers.get("x-request-id")
        # And errors over the wire keep the envelope
        missing = http.get("/v1/nothing", headers=auth)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
