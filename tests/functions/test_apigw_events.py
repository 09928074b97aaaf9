"""The handlers fed API Gateway HTTP API (payload 2.0) events shaped as AWS sends them: every
header API Gateway adds, cookies, stage variables, an authorizer block, base64 bodies, the
comma-joined query parameters. (tests/events/apigw_http_v2_request.json follows the documented
format; the `api` fixture's events come from minirag.local.events, and these check both agree.)"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from minirag.local.events import LambdaContext, response_body_bytes
from minirag.local.template import load_handler, load_template
from tests.factories import make_bot_profile, make_source

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((ROOT / "tests" / "events" / "apigw_http_v2_request.json").read_text())


def _event(method: str, route_key_path: str, raw_path: str, *, token: str | None = None, body: Any = None,
           base64_body: bool = False, raw_query: str = "", query: dict[str, str] | None = None,
           path_parameters: dict[str, str] | None = None, extra_headers: dict[str, str] | None = None) -> dict:
    event = copy.deepcopy(SAMPLE)
    route_key = f"{method} {route_key_path}"
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    event["rawPath"] = event["requestContext"]["http"]["path"] = raw_path
    event["requestContext"]["http"]["method"] = method
    event["rawQueryString"] = raw_query
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if token:
        event["headers"]["authorization"] = f"Bearer {token}"
    event["headers"].update(extra_headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        event["headers"]["content-type"] = "application/json"
        event["headers"]["content-length"] = str(len(data))
        event["body"] = base64.b64encode(data).decode() if base64_body else data.decode()
        event["isBase64Encoded"] = base64_body
    return event


def _invoke(event: dict) -> tuple[int, dict, Any]:
    template = load_template(str(ROOT / "template.yaml"))
    route, _ = template.match(event["requestContext"]["http"]["method"], event["rawPath"])
    assert route.route_key == event["routeKey"]
    result = load_handler(template, route.function)(event, LambdaContext(function_name=route.function.logical_id))
    body = response_body_bytes(result)
    headers = {k.lower(): v for k, v in result["headers"].items()}
    return int(result["statusCode"]), headers, json.loads(body) if body else None


def test_bootstrap_from_base64_encoded_body_returns_201():
    # Given a bootstrap request whose body API Gateway delivered base64-encoded
    event = _event("POST", "/v1/tenants", "/v1/tenants", base64_body=True,
                   body={"tenant_name": "Gateway", "tenant_slug": "gateway-co",
                         "owner_email": "owner@gateway.example.com", "owner_password": "correct-horse-battery"})

    # When the tenants handler receives it
    status, headers, body = _invoke(event)

    # Then the tenant is created, and the response carries API Gateway's request id
    assert status == 201, body
    assert body["tenant"]["slug"] == "gateway-co"
    assert headers["x-request-id"] == SAMPLE["requestContext"]["requestId"]


def test_path_parameter_and_authorization_header_reach_the_route(api, tenant_a):
    # Given a bot, requested by id with a full API Gateway event
    bot = make_bot_profile(api, tenant_a)
    event = _event("GET", "/v1/bot-profiles/{id}", f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token,
                   path_parameters={"id": bot["id"]})

    # When the bot profiles handler receives it
    status, _, body = _invoke(event)

    # Then it answers with that bot
    assert status == 200 and body == bot


def test_query_string_from_api_gateway_is_honoured(api, tenant_a):
    # Given three sources, one queued, listed with the raw query string and the comma-joined map
    bot = make_bot_profile(api, tenant_a)
    sources = [make_source(api, tenant_a, bot["id"], name=f"s{i}") for i in range(3)]
    api.post(f"/v1/sources/{sources[0]['id']}/ingest", token=tenant_a.token)
    event = _event("GET", "/v1/sources", "/v1/sources", token=tenant_a.token, raw_query="status=pending&limit=1",
                   query={"status": "pending", "limit": "1"})

    # When the sources handler receives it
    status, headers, body = _invoke(event)

    # Then both filters apply: one pending source, and the next page's cursor and link in the headers
    assert status == 200, body
    assert len(body) == 1 and body[0]["status"] == "pending" and headers["x-next-cursor"]
    target, rel = headers["link"].split(">; ", 1)
    path, query = target.removeprefix("<").split("?", 1)
    assert rel == 'rel="next"' and path == "/v1/sources"
    assert parse_qs(query) == {"status": ["pending"], "limit": ["1"], "cursor": [headers["x-next-cursor"]]}


def test_tenant_comes_from_the_token_not_from_authorizer_claims_or_headers(api, tenant_a, tenant_b):
    # Given A's token, in an event whose authorizer claims and headers name tenant B
    event = _event("GET", "/v1/tenants/me", "/v1/tenants/me", token=tenant_a.token,
                   extra_headers={"x-tenant-id": tenant_b.id, "x-minirag-tenant": tenant_b.slug})
    event["requestContext"]["authorizer"]["jwt"]["claims"]["tid"] = tenant_b.id

    # When the tenants handler receives it
    status, _, body = _invoke(event)

    # Then the caller is tenant A, as its token says
    assert status == 200, body
    assert body["tenant"]["id"] == tenant_a.id


def test_missing_token_in_real_event_returns_401_envelope():
    # Given the sample event without an Authorization header
    event = _event("GET", "/v1/tenants/me", "/v1/tenants/me")

    # When the tenants handler receives it
    status, headers, body = _invoke(event)

    # Then it is the 401 envelope with API Gateway's request id
    assert status == 401 and body["error"]["code"] == "unauthenticated"
    assert headers["x-request-id"] == SAMPLE["requestContext"]["requestId"]


def test_malformed_base64_json_body_returns_422():
    # Given a base64 body that decodes to broken JSON
    event = _event("POST", "/v1/tenants", "/v1/tenants", body={})
    event["body"] = base64.b64encode(b'{"tenant_name": ').decode()
    event["isBase64Encoded"] = True

    # When the tenants handler receives it
    status, _, body = _invoke(event)

    # Then it is a 422 envelope
    assert status == 422 and body["error"]["code"] == "validation_error"
