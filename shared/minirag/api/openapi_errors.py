"""The OpenAPI document describes errors as they are sent: every operation's error responses
(including FastAPI's 422) use the one envelope of `minirag.errors.error_body`, not FastAPI's
`HTTPValidationError`, so generated clients and schema checkers read errors right."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from minirag.security.permissions import PUBLIC, required_permission


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    field: str = Field(description="the request field (dotted path) or `body`")
    reason: str
    location: str | None = Field(default=None, description="body, query, path or header")


class ErrorObject(BaseModel):
    model_config = ConfigDict(extra="allow")  # the OpenAI-compatible routes add `type` and `param`
    code: str = Field(description="machine-readable, e.g. validation_error, not_found, forbidden")
    message: str
    details: list[ErrorDetail]


class ErrorEnvelope(BaseModel):
    error: ErrorObject
    detail: str = Field(description="the message again (FastAPI's convention)")


ERROR_STATUSES = {
    "401": "Missing, invalid or revoked credentials",
    "403": "The caller's role or token scopes do not allow this (names the permission)",
    "404": "No such object (or another tenant's: indistinguishable)",
    "422": "Invalid request (names each field and the reason)",
    "429": "Rate or quota limit reached (Retry-After)",
}
_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


def error_responses(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with every error response (documented ones and the common ones) as the envelope."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorDetail, ErrorObject, ErrorEnvelope):
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas[model.__name__].pop("$defs", None)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            public = required_permission(method.upper(), path) == PUBLIC
            for status, text in ERROR_STATUSES.items():
                if status in ("401", "403") and public:
                    continue
                responses.setdefault(status, {"description": text})
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    response["content"] = {"application/json": {"schema": _REF}}
    return spec


def install_error_schema(app: FastAPI) -> None:
    """Generate the app's OpenAPI once, with the error envelope (FastAPI's `app.openapi` hook)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, routes=app.routes,
                               description=app.description)
            app.openapi_schema = error_responses(spec)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
