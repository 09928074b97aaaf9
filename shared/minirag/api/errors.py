"""The one place errors become HTTP responses: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from minirag.errors import AppError

_STATUS_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 413: "payload_too_large"}


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}}, status_code=status, headers=headers
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header") else [str(p) for p in loc]
    return ".".join(parts) or (str(loc[0]) if loc else "body")


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    details = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        reason = err.get("msg", "invalid value")
        if err.get("type") == "extra_forbidden":
            reason = "unknown field"
        elif err.get("type") == "json_invalid":
            reason = "request body is not valid JSON"
        details.append({"field": _field_name(loc), "location": str(loc[0]) if loc else "body", "reason": reason})
    return details


async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
    headers = {"Retry-After": "5"} if exc.status_code in (429, 503) else None
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    details = validation_details(list(exc.errors()))
    fields = ", ".join(sorted({d["field"] for d in details}))
    return error_response(422, "validation_error", f"invalid request: {fields}", details)


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = "route not found"
    return error_response(exc.status_code, code, message, None, getattr(exc, "headers", None))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
