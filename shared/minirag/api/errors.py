"""The one place errors become HTTP responses, written by `minirag.errors.error_body`:
`{"error": {"code", "message", "details": [...]}}` for every status (the request id is in the
`x-request-id` header, as on every response).

AppErrors render as declared; validation errors name each field with a reason a person can act on;
Starlette's 404/405/413 use the same envelope; and `CatchAllMiddleware` turns any other exception into
a generic 500 (logged, its text never sent)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from minirag.api.openai_errors import is_openai_path, openai_error_body, openai_status
from minirag.errors import AppError, RateLimited, error_body
from minirag.observability import logger

_STATUS_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 413: "payload_too_large"}
INTERNAL_ERROR_MESSAGE = "internal error; quote the x-request-id response header when reporting it"


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None, *, path: str = "") -> JSONResponse:
    """The envelope; on the OpenAI-compatible routes also in OpenAI's shape (minirag.api.openai_errors)."""
    body = error_body(code, message, details)
    if is_openai_path(path):
        status = openai_status(status)
        body = openai_error_body(status, body)
    return JSONResponse(body, status_code=status, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    located = bool(loc) and loc[0] in ("body", "query", "path", "header")
    parts = [str(p) for p in (loc[1:] if located else loc)]
    return ".".join(parts) or (str(loc[0]) if loc else "body")


def _line_and_column(document: Any, position: Any) -> tuple[int, int] | None:
    if not isinstance(document, (str, bytes)) or not isinstance(position, int):
        return None
    text = document.decode("utf-8", "replace") if isinstance(document, bytes) else document
    return text.count("\n", 0, position) + 1, position - text.rfind("\n", 0, position)


def _reason(err: dict[str, Any], body: Any) -> str:
    kind = err.get("type")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "json_invalid":
        loc = tuple(err.get("loc", ()))
        where = _line_and_column(body, loc[1] if len(loc) > 1 else None)
        cause = f": {ctx['error']}" if ctx.get("error") else ""
        return f"malformed JSON at line {where[0]}, column {where[1]}{cause}" if where else f"malformed JSON{cause}"
    if kind in ("too_short", "too_long") and isinstance(err.get("input"), (str, SecretStr)):
        # pydantic counts a SecretStr's length in "items"; for text it is characters
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        return f"should have at {'least' if kind == 'too_short' else 'most'} {bound} characters"
    return str(err.get("msg", "invalid value"))


def validation_details(errors: list[dict[str, Any]], body: Any = None) -> list[dict[str, str]]:
    """One `{field, location, reason}` per pydantic error. A malformed JSON body is located by line
    and column in the reason (`body` is the raw document), not named by its byte offset."""
    details = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        location = str(loc[0]) if loc else "body"
        field = "body" if err.get("type") == "json_invalid" else _field_name(loc)
        details.append({"field": field, "location": location, "reason": _reason(err, body)})
    return details


async def _app_error(request: Request, exc: AppError) -> JSONResponse:
    headers = {"Retry-After": "5"} if exc.status_code in (429, 503) else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after), **exc.headers}
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers, path=request.url.path)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    details = validation_details(errors, exc.body)
    if errors and errors[0].get("type") == "json_invalid":  # then it is the only error
        message = "the request body is " + details[0]["reason"]
    else:
        message = "invalid request: " + "; ".join(f"{d['field']}: {d['reason']}" for d in details)
    code = "unsupported_parameter" if any(e.get("type") == "unsupported_parameter" for e in errors) \
        else "validation_error"
    return error_response(422, code, message, details, path=request.url.path)


def _http_error_parts(exc: StarletteHTTPException) -> tuple[str, str]:
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = "route not found"
    return code, message


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code, message = _http_error_parts(exc)
    return error_response(exc.status_code, code, message, None, getattr(exc, "headers", None),
                          path=request.url.path)


class CatchAllMiddleware:
    """The one catch-all, just inside the request context (so its answer gets the request id header
    and the access log sees its status): an exception no handler took is logged with the request id
    and answered with a generic 500. An HTTPException raised outside the
    routes (e.g. the body cap while a body is read) gets its own envelope. Once a response has
    started nothing more can be sent, so the error is only logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except StarletteHTTPException as exc:
            if not started:
                code, message = _http_error_parts(exc)
                await send_envelope(send, exc.status_code, error_body(code, message))
        except Exception:  # noqa: BLE001 - the one catch-all: log it, answer a generic 500
            logger.exception("unhandled error", extra={"path": scope.get("path"), "method": scope.get("method")})
            if not started:
                await send_envelope(send, 500, error_body("internal_error", INTERNAL_ERROR_MESSAGE))


async def send_envelope(send: Send, status: int, body: dict[str, Any]) -> None:
    """Answer with an error envelope at the raw ASGI level (middleware, before or outside a route)."""
    response = JSONResponse(body, status_code=status)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def install_error_handlers(app: FastAPI) -> None:
    """Handlers for the errors FastAPI routes raise, and the catch-all middleware. Add the request
    context middleware after this, so it wraps the catch-all."""
    app.add_exception_handler(AppError, _app_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_middleware(CatchAllMiddleware)
