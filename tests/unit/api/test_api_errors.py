"""The error envelope and request context of every function's app (minirag.api.app.build_app):
AppErrors as declared, validation errors per field, Starlette 404/405, the body limit, and the
generic 500 that never carries exception text."""

from __future__ import annotations

import json

import pytest
from fastapi import APIRouter
from pydantic import Field
from starlette.testclient import TestClient

from minirag.api.app import build_app
from minirag.api.errors import validation_details
from minirag.api.schemas.common import StrictModel
from minirag.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    UpstreamUnavailable,
)

ERRORS = {
    "not_found": (NotFound("widget", field="widget_id"), 404),
    "conflict": (Conflict("slug is taken", code="slug_taken"), 409),
    "invalid": (InvalidInput("chunk_overlap_tokens", "too big"), 422),
    "unauthenticated": (Unauthenticated(), 401),
    "forbidden": (Forbidden("owners only"), 403),
    "too_large": (PayloadTooLarge("too big"), 413),
    "rate_limited": (RateLimited("slow down"), 429),
    "upstream": (UpstreamUnavailable("provider down"), 502),
}


class Widget(StrictModel):
    name: str = Field(min_length=1)
    size: int = Field(ge=1)


def _client() -> TestClient:
    router = APIRouter()

    @router.get("/raise/{name}")
    def raise_error(name: str):
        raise ERRORS[name][0]

    @router.get("/kept")
    def error_naming_ids():
        raise UpstreamUnavailable("provider down", details={"chat_id": "c1"})

    @router.get("/boom")
    def boom():
        raise ValueError("secret connection string postgres://admin:hunter2@db")

    @router.post("/widgets")
    def create_widget(body: Widget):
        return body.model_dump()

    return TestClient(build_app(router, title="test"), raise_server_exceptions=False)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_app_error_renders_as_declared(name):
    # Given a route that raises an AppError
    error, status = ERRORS[name]

    # When it is called
    response = _client().get(f"/raise/{name}")

    # Then the status, code, message and details are the error's own; the request id is in the header
    assert response.status_code == status
    assert response.headers["x-request-id"]
    assert response.json() == {"error": {"code": error.code, "message": error.message, "details": error.details or []},
                               "detail": error.message}


def test_rate_limited_sets_retry_after():
    # Given a rate-limited call
    # When it is answered
    response = _client().get("/raise/rate_limited")

    # Then the client is told when to retry
    assert response.status_code == 429 and response.headers["retry-after"]


def test_validation_error_has_one_detail_per_field():
    # Given a body with two invalid fields and an unknown one
    # When it is posted
    response = _client().post("/widgets", json={"name": "", "size": 0, "colour": "red"})

    # Then the 422 names each field with a reason
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {d["field"] for d in error["details"]} == {"name", "size", "colour"}
    assert {d["reason"] for d in error["details"] if d["field"] == "colour"} == {"unknown field"}
    assert all(d["location"] == "body" for d in error["details"])


def test_validation_details_name_query_and_path_fields():
    # Given pydantic errors located in the query, the path and the body root
    errors = [{"loc": ("query", "limit"), "msg": "too big", "type": "less_than_equal"},
              {"loc": ("path", "id"), "msg": "bad uuid", "type": "uuid_parsing"},
              {"loc": ("body",), "msg": "Field required", "type": "missing"},
              {"loc": ("body", 13), "msg": "JSON decode error", "type": "json_invalid",
               "ctx": {"error": "Expecting value"}}]

    # When they are turned into details (with the raw body the JSON error points into)
    details = validation_details(errors, '{\n  "name": \n}')

    # Then each names its field and location; the malformed body is located by line and column,
    # not named by its byte offset
    assert [(d["field"], d["location"]) for d in details] == [("limit", "query"), ("id", "path"), ("body", "body"),
                                                              ("body", "body")]
    assert details[3]["reason"] == "malformed JSON at line 3, column 1: Expecting value"


def test_unknown_route_and_wrong_method_use_the_envelope():
    # Given an app with /widgets (POST only)
    client = _client()

    # When an unknown path and a wrong method are requested
    missing = client.get("/nothing")
    wrong_method = client.get("/widgets")

    # Then both are envelopes
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_unexpected_exception_is_generic_500_with_request_id():
    # Given a route failing with an unexpected error whose text holds a secret
    # When it is called
    response = _client().get("/boom")

    # Then the client gets a fixed message pointing to the request id header, never the exception text
    assert response.status_code == 500
    error = response.json()
    message = "internal error; quote the x-request-id response header when reporting it"
    assert error == {"error": {"code": "internal_error", "details": [], "message": message}, "detail": message}
    assert response.headers["x-request-id"]
    assert "hunter2" not in response.text and "ValueError" not in response.text


def test_body_over_limit_is_413_before_parsing():
    # Given a body over MAX_REQUEST_BYTES (1 MiB by default)
    body = b'{"name": "' + b"x" * (1024 * 1024) + b'", "size": 1}'

    # When it is posted
    response = _client().post("/widgets", content=body, headers={"content-type": "application/json"})

    # Then it is a 413 envelope
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def _envelope_cases() -> dict[str, tuple[int, dict]]:
    """One response of every kind the API writes an error for."""
    client = _client()
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'", "size": 1}'

    def streamed():  # no content-length: the body cap trips while the body is read
        yield big

    return {
        "app_error_502": client.get("/raise/upstream"),
        "app_error_with_ids_502": client.get("/kept"),
        "validation_422": client.post("/widgets", json={"name": ""}),
        "malformed_json_422": client.post("/widgets", content=b"{", headers={"content-type": "application/json"}),
        "declared_body_413": client.post("/widgets", content=big, headers={"content-type": "application/json"}),
        "streamed_body_413": client.post("/widgets", content=streamed(), headers={"content-type": "application/json"}),
        "route_404": client.get("/nothing"),
        "method_405": client.get("/widgets"),
        "unexpected_500": client.get("/boom"),
    }


def test_every_error_has_one_envelope_shape():
    # Given errors of every origin: handlers, validation, the body cap (declared and streamed),
    # Starlette's routing, the catch-all; and an error naming the ids it refers to
    responses = _envelope_cases()

    # Then each is {"error": {code, message, details: [...]}, "detail": message} with the request id in the header only
    for name, response in responses.items():
        body = response.json()
        assert set(body) == {"error", "detail"} and set(body["error"]) == {"code", "message", "details"}, (name, body)
        assert body["detail"] == body["error"]["message"], (name, body)
        assert isinstance(body["error"]["details"], list), (name, body)
        assert all({"field", "reason"} <= set(d) for d in body["error"]["details"]), (name, body)
        assert response.headers["x-request-id"], name
        assert response.text == json.dumps(body, separators=(",", ":")), (name, response.text)  # one spacing
    assert responses["streamed_body_413"].status_code == 413
    assert responses["app_error_with_ids_502"].json()["error"]["details"] == [
        {"field": "chat_id", "reason": "chat_id is c1", "value": "c1"}]
