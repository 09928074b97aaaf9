"""Request context for every request: a request id (API Gateway's, or generated locally) in the
`x-request-id` header, the scope's state and every log line; the body size limit (413 before
parsing, or as soon as a streamed body passes it); one access log line. The catch-all 500 is
`minirag.api.errors.CatchAllMiddleware`, just inside this one."""

from __future__ import annotations

import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from minirag.api.errors import send_envelope
from minirag.errors import error_body
from minirag.observability import logger
from minirag.settings import get_settings

REQUEST_ID_HEADER = "x-request-id"


def request_id_from_scope(scope: Scope) -> str:
    event = scope.get("aws.event") or {}
    request_id = (event.get("requestContext") or {}).get("requestId")
    return str(request_id) if request_id else uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int | None = None) -> None:
        self.app = app
        self._max_body_bytes = max_body_bytes

    def max_body_bytes(self, path: str = "") -> int:
        """MAX_REQUEST_BYTES from the (cached) settings, read at request time rather than at import
        (the direct upload route takes more: `Settings.max_body_bytes_for`)."""
        if self._max_body_bytes is not None:
            return self._max_body_bytes
        return get_settings().max_body_bytes_for(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from_scope(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        logger.append_keys(request_id=request_id)
        status = 500
        began = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        limit = self.max_body_bytes(str(scope.get("path") or ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_envelope(send_with_id, 413, error_body(
                "payload_too_large", f"request body exceeds {limit} bytes"))
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, send_with_id)
        finally:
            # One access line per request (never headers or bodies: they carry credentials).
            logger.info("request", extra={"method": scope.get("method"), "path": scope.get("path"), "status": status,
                                          "duration_ms": round((time.perf_counter() - began) * 1000, 2)})
            logger.remove_keys(["request_id", "tenant_id"])


class _BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI re-raises it from body parsing (any other exception there
    becomes a 400 "error parsing the body") and the error handlers (or, outside a route, the
    catch-all) render the 413 envelope."""

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(413, f"request body exceeds {max_body_bytes} bytes")
