"""When and how long to wait before trying a request again."""

from __future__ import annotations

from dataclasses import dataclass

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
ALWAYS_RETRIED = frozenset({429, 503})  # the request was not acted on
MAX_DELAY_SECONDS = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff: float = 0.5  # first wait; doubles each retry

    def retries_status(self, method: str, status: int, attempt: int) -> bool:
        if attempt >= self.max_retries:
            return False
        return status in ALWAYS_RETRIED or (status >= 500 and method.upper() in IDEMPOTENT)

    def retries_transport_error(self, method: str, attempt: int) -> bool:
        return attempt < self.max_retries and method.upper() in IDEMPOTENT

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Retry-After (seconds) when the server says so, else exponential back-off; capped."""
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), MAX_DELAY_SECONDS)
            except ValueError:
                pass
        return min(self.backoff * 2 ** (attempt - 1), MAX_DELAY_SECONDS)
