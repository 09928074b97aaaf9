"""Every API error as an exception carrying what the API said: `code`, `message`, the field
`details` and the `request_id` (quote it when reporting a problem)."""

from __future__ import annotations

from typing import Any

import httpx


class MiniRAGError(Exception):
    """Base of everything this package raises."""


class APIConnectionError(MiniRAGError):
    """The API could not be reached (after the retries)."""


class APIStatusError(MiniRAGError):
    status_code: int = 0

    def __init__(self, status_code: int, code: str, message: str, details: list[dict[str, Any]],
                 request_id: str | None, response: httpx.Response | None = None) -> None:
        super().__init__(f"{status_code} {code}: {message}" + (f" (request {request_id})" if request_id else ""))
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.request_id = request_id
        self.response = response

    @property
    def fields(self) -> dict[str, str]:
        """The named fields and why each was refused."""
        return {d["field"]: d.get("reason", "") for d in self.details if isinstance(d, dict) and "field" in d}


class BadRequestError(APIStatusError): ...
class AuthenticationError(APIStatusError): ...
class PermissionDeniedError(APIStatusError): ...
class NotFoundError(APIStatusError): ...
class ConflictError(APIStatusError): ...
class PayloadTooLargeError(APIStatusError): ...
class UnprocessableEntityError(APIStatusError): ...


class RateLimitError(APIStatusError):
    @property
    def retry_after(self) -> float | None:
        value = self.response.headers.get("retry-after") if self.response is not None else None
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class ServerError(APIStatusError): ...


class IngestError(MiniRAGError):
    """An ingest ended in `error`; `source` is the source as it ended (see `source.last_error`)."""

    def __init__(self, source: Any) -> None:
        super().__init__(f"source {source.id} failed to ingest: {source.last_error}")
        self.source = source


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError,
    409: ConflictError, 413: PayloadTooLargeError, 422: UnprocessableEntityError, 429: RateLimitError,
}


def error_from_response(response: httpx.Response) -> APIStatusError:
    """The exception for an error response (the API's envelope, or whatever a proxy answered)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message = str(error.get("code", "error")), str(error.get("message", ""))
        raw = error.get("details")
        details: list[dict[str, Any]] = [d for d in raw if isinstance(d, dict)] if isinstance(raw, list) else []
    else:
        code, message, details = "http_error", response.text[:500] or response.reason_phrase, []
    kind = _BY_STATUS.get(response.status_code, ServerError if response.status_code >= 500 else APIStatusError)
    return kind(response.status_code, code, message, details, response.headers.get("x-request-id"), response)
