"""Request context for every request: a request id (API Gateway's, or generated locally) in the
`x-request-id` header and in every log line, the body size limit (413 before parsing), and the
catch-all that turns an unexpected exception into a 500 envelope without leaking its text."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from minirag.observability import logger
from minirag.settings import get_settings

REQUEST_ID_HEADER = "x-request-id"


def request_id_from_scope(scope: Scope) -> str:
    event = scope.get("aws.event") or {}
    request_id = (event.get("requestContext") or {}).get("requestId")
    return str(request_id) if request_id else uuid.uuid4().hex


def _json_body(status: int, code: str, message: str, request_id: str, details: Any = None) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": details,
                                 "request_id": request_id}}).encode()


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int | None = None) -> None:
        self.app = app
        self._max_body_bytes = max_body_bytes

    @property
    def max_body_bytes(self) -> int:
        """MAX_REQUEST_BYTES from the (cached) settings, read at request time rather than at import."""
        if self._max_body_bytes is not None:
            return self._max_body_bytes
        return get_settings().max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from_scope(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        logger.append_keys(request_id=request_id)
        started = False
        status = 500
        began = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        async def respond(status: int, body: bytes) -> None:
            await send_with_id({"type": "http.response.start", "status": status,
                                "headers": [(b"content-type", b"application/json")]})
            await send_with_id({"type": "http.response.body", "body": body})

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await respond(413, _json_body(413, "payload_too_large",
                                          f"request body exceeds {self.max_body_bytes} bytes", request_id))
            return

        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    raise _BodyTooLarge(self.max_body_bytes)
            return message

        try:
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            if not started:
                await respond(413, _json_body(413, "payload_too_large",
                                              f"request body exceeds {self.max_body_bytes} bytes", request_id))
        except Exception:  # noqa: BLE001 - the one catch-all: log it, answer a generic 500
            logger.exception("unhandled error", extra={"path": scope.get("path"), "method": scope.get("method")})
            if not started:
                await respond(500, _json_body(500, "internal_error",
                                              "internal error; quote the request_id when reporting it", request_id))
        finally:
            # One access line per request (never headers or bodies: they carry credentials).
            logger.info("request", extra={"method": scope.get("method"), "path": scope.get("path"), "status": status,
                                          "duration_ms": round((time.perf_counter() - began) * 1000, 2)})
            logger.remove_keys(["request_id", "tenant_id"])


class _BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI re-raises it from body parsing (any other exception there
    becomes a 400 "error parsing the body") and the error handlers render the 413 envelope."""

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(413, f"request body exceeds {max_body_bytes} bytes")
