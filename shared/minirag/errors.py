"""Domain errors, and the one writer of the error envelope every response and stream event uses.

Services raise only these errors. Each has an HTTP status, a snake_case `code`, a human message,
`details` (a list of `{"field", "reason"}` dicts; a mapping of ids it refers to is rendered as one
detail per id) and `retryable`. The message is written for the client: it never carries exception
text from a library, a secret or another tenant's data. `error_body` knows no HTTP, so the API,
its middleware, the chat stream and the local runner all write the same shape:

    {"error": {"code": ..., "message": ..., "details": [...]}}

The request id is never in the body: every response, error or not, carries it in the `x-request-id`
header. So an error body depends only on the error (a foreign id's 404 is byte-identical to a
missing id's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class AppError(Exception):
    status_code: int = 400
    code: str = "bad_request"
    retryable: bool = False

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The error envelope; `details` is always a list. `detail` repeats the message at the top level:
    FastAPI's convention, which the seed system's clients read."""
    return {"error": {"code": code, "message": message, "details": _detail_list(details)}, "detail": message}


def _detail_list(details: Any) -> list[Any]:
    if details is None:
        return []
    if isinstance(details, Mapping):  # ids the error refers to, e.g. where a chat message was kept
        return [{"field": str(name), "reason": f"{name} is {value}", "value": value} for name, value in details.items()]
    return list(details)


def field_details(field: str, reason: str) -> list[dict[str, str]]:
    return [{"field": field, "reason": reason}]


class NotFound(AppError):
    """Missing *or* belonging to another tenant: the two must be indistinguishable."""

    status_code = 404
    code = "not_found"

    def __init__(self, resource: str, *, field: str | None = None) -> None:
        details = field_details(field, f"{resource} not found") if field else None
        super().__init__(f"{resource} not found", details=details)
        self.resource = resource


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class InvalidInput(AppError):
    """Semantic validation past pydantic; always names the field."""

    status_code = 422
    code = "invalid_input"

    def __init__(self, field: str, reason: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {reason}", code=code, details=field_details(field, reason))
        self.field = field
        self.reason = reason


class Unauthenticated(AppError):
    status_code = 401
    code = "unauthenticated"

    def __init__(self, message: str = "missing, invalid or revoked credentials") -> None:
        super().__init__(message)


class Forbidden(AppError):
    """Role limits inside one's own tenant only (never for foreign ids: that is NotFound)."""

    status_code = 403
    code = "forbidden"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class RateLimited(AppError):
    """Too many requests, or a limit reached: `retry_after` seconds until it may succeed, and the
    RateLimit-* headers that describe the limit (rendered as HTTP headers by the API)."""

    status_code = 429
    code = "rate_limited"
    retryable = True

    def __init__(self, message: str, *, code: str | None = None, details: Any = None, retry_after: int = 5,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after = max(1, int(retry_after))
        self.headers = dict(headers or {})


class UpstreamUnavailable(AppError):
    """An upstream (LLM provider, Qdrant, S3, SQS) failed; the client may retry."""

    status_code = 502
    code = "upstream_unavailable"
    retryable = True


class ProviderRejected(UpstreamUnavailable):
    """The model provider (or an offline model's files) refused the call as such: a bad key, a
    rejected request, a model that is not installed. Retrying cannot fix it."""

    retryable = False


class PermanentIngestError(AppError):
    """Ingest cannot succeed by retrying (unsupported/corrupt file, SSRF refusal, source gone)."""

    status_code = 422
    code = "ingest_failed"
