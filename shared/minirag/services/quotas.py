"""Per-tenant limits: what each one is, its value for a tenant (the LIMIT_* settings, overridden per
tenant by the operator with `minirag set-limits`), and the checks that refuse work past one.

Rates are counted in fixed windows (a UTC minute, a UTC day) by database counters
(`minirag.db.counters`), so they hold across Lambda containers. Counts (sources, bots, tokens,
stored chunks) are counted from the rows, under a lock on the tenant row. Past a limit the answer
is a 429 naming the limit (its `details[0].field`), with `Retry-After` and the RateLimit headers of
draft-ietf-httpapi-ratelimit-headers (RateLimit-Limit, -Remaining, -Reset, -Policy)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from minirag.db import quota_rows
from minirag.db.counters import TenantCounters
from minirag.db.scope import TenantScope
from minirag.errors import InvalidInput, RateLimited
from minirag.settings import Settings

MINUTE = 60
DAY = 86400
COUNT_RETRY_AFTER = 3600

# name -> (window in seconds, or None for a count of stored things; what it counts)
LIMITS: dict[str, tuple[int | None, str]] = {
    "requests_per_minute": (MINUTE, "API requests per minute per token"),
    "chat_turns_per_day": (DAY, "chat turns per day"),
    "model_tokens_per_day": (DAY, "model tokens (prompt + completion) of chat turns per day"),
    "ingest_documents_per_day": (DAY, "documents ingested per day"),
    "ingest_chunks_per_day": (DAY, "chunks ingested per day"),
    "stored_chunks": (None, "chunks stored"),
    "sources": (None, "active sources"),
    "bots": (None, "active bot profiles"),
    "tokens": (None, "live API tokens"),
}


def default_limits(settings: Settings) -> dict[str, int]:
    return {name: int(getattr(settings, f"limit_{name}")) for name in LIMITS}


def effective_limits(settings: Settings, overrides: Mapping[str, Any] | None) -> dict[str, int]:
    """The defaults with the tenant's overrides on top (unknown names in stored JSON are ignored)."""
    limits = default_limits(settings)
    for name, value in (overrides or {}).items():
        if name in limits and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            limits[name] = value
    return limits


def validate_overrides(changes: Mapping[str, Any]) -> dict[str, int | None]:
    """An operator's changes: known names, each a whole number >= 0 or None (back to the default)."""
    checked: dict[str, int | None] = {}
    for name, value in changes.items():
        if name not in LIMITS:
            raise InvalidInput(name, f"unknown limit; known: {', '.join(LIMITS)}")
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise InvalidInput(name, "must be a whole number >= 0, or null for the default")
        checked[name] = value
    return checked


def apply_overrides(current: Mapping[str, Any] | None, changes: Mapping[str, int | None]) -> dict[str, int] | None:
    merged = {k: v for k, v in (current or {}).items() if k in LIMITS}
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged or None


@dataclass(frozen=True)
class Window:
    """A fixed window of `seconds` containing `now` (epoch seconds)."""

    seconds: int
    now: int

    @property
    def start(self) -> int:
        return self.now - self.now % self.seconds

    @property
    def end(self) -> int:
        return self.start + self.seconds

    @property
    def reset(self) -> int:
        return max(1, self.end - self.now)

    def key(self, name: str) -> str:
        return f"{name}:{self.seconds}:{self.start}"


def epoch_now() -> int:
    """The clock of every limit (tests move it instead of waiting for a window to pass)."""
    return int(time.time())


def rate_headers(name: str, limit: int, used: int, reset: int, window: int | None) -> dict[str, str]:
    """RateLimit-* headers (draft-ietf-httpapi-ratelimit-headers) for one limit."""
    headers = {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(max(0, limit - used)),
               "RateLimit-Reset": str(max(0, reset))}
    if window is not None:
        headers["RateLimit-Policy"] = f'{limit};w={window};comment="{name}"'
    return headers


def _reset_phrase(seconds: int) -> str:
    if seconds >= 3600:
        at = datetime.fromtimestamp(epoch_now() + seconds, tz=timezone.utc)
        return f"resets at {at:%H:%M} UTC"
    return f"resets in {seconds} s"


def limit_exceeded(name: str, limit: int, used: int, *, reset: int, window: int | None) -> RateLimited:
    """The 429 for limit `name`: the message says what and when, the detail names the limit."""
    what = LIMITS[name][1]
    if window is None:
        reason = f"limit of {limit} {what} reached; remove some or ask the operator to raise it"
        return RateLimited(f"limit reached: {name} ({limit} {what})", code="limit_exceeded",
                           details=[{"field": name, "reason": reason, "limit": limit}],
                           retry_after=reset, headers=rate_headers(name, limit, used, reset, None))
    reason = f"limit of {limit} {what} reached; {_reset_phrase(reset)}"
    code = "rate_limited" if name == "requests_per_minute" else "limit_exceeded"
    return RateLimited(f"limit reached: {name} ({limit} {what})", code=code,
                       details=[{"field": name, "reason": reason, "limit": limit}],
                       retry_after=reset, headers=rate_headers(name, limit, used, reset, window))


class TenantQuota:
    """The limits of one tenant and its rate counters (all on the caller's unit of work)."""

    def __init__(self, counters: TenantCounters, limits: Mapping[str, int], *, now: int | None = None) -> None:
        self._counters = counters
        self.limits = dict(limits)
        self._now = now

    def window(self, name: str) -> Window:
        seconds = LIMITS[name][0]
        assert seconds is not None, name
        return Window(seconds, self._now if self._now is not None else epoch_now())

    def take(self, name: str, amount: int = 1, *, key_suffix: str = "") -> dict[str, str]:
        """Count `amount` against a rate limit and refuse (429) when that passes it; the headers
        describe the limit after this request. Call inside a write: a refusal rolls its count back."""
        window, limit = self.window(name), self.limits[name]
        used = self._counters.bump(window.key(name) + key_suffix, now=window.now, expires_at=window.end,
                                   amount=amount).count
        if used > limit:
            raise limit_exceeded(name, limit, used, reset=window.reset, window=window.seconds)
        return rate_headers(name, limit, used, window.reset, window.seconds)

    def require_room(self, name: str, amount: int = 0) -> None:
        """Refuse (429) when the window's count plus `amount` would pass the limit; counts nothing."""
        window, limit = self.window(name), self.limits[name]
        used = self._counters.peek(window.key(name), now=window.now).count
        if used + amount > limit or (amount == 0 and used >= limit):
            raise limit_exceeded(name, limit, used, reset=window.reset, window=window.seconds)

    def add(self, name: str, amount: int) -> None:
        """Count what was spent (tokens after a turn, chunks once recorded), without a check."""
        if amount > 0:
            window = self.window(name)
            self._counters.bump(window.key(name), now=window.now, expires_at=window.end, amount=amount)

    def used(self, name: str) -> int:
        window = self.window(name)
        return self._counters.peek(window.key(name), now=window.now).count

    def require_count_below(self, name: str, held: int, adding: int = 1) -> None:
        """A count limit: refuse (429) when holding `held` and adding `adding` would pass it. Waiting
        does not help here (removing something does), so Retry-After is a nominal hour."""
        limit = self.limits[name]
        if held + adding > limit:
            raise limit_exceeded(name, limit, held, reset=COUNT_RETRY_AFTER, window=None)


def tenant_quota(scope: TenantScope, settings: Settings, *, lock: bool = False) -> TenantQuota:
    """The tenant's quota, its overrides read from the tenant row (locked with `lock`, in a write)."""
    return TenantQuota(scope.counters(), effective_limits(settings, quota_rows.tenant_limits(scope, lock=lock)))


def count_spent(scope: TenantScope, name: str, amount: int) -> None:
    """Add what was spent to a daily count (inside the caller's write); checks are made up front."""
    TenantQuota(scope.counters(), {}).add(name, amount)


def admit_request(scope: TenantScope, settings: Settings, credential: str) -> dict[str, str]:
    """Count one API request against the credential's requests per minute (inside a write: one
    small read of the tenant's overrides, one upsert). Returns the RateLimit headers; 429 past it."""
    return tenant_quota(scope, settings).take("requests_per_minute", key_suffix=f":{credential}")


def current_usage(scope: TenantScope, limits: Mapping[str, int], now: datetime) -> dict[str, int]:
    """What the tenant uses of each limit now (inside a read). Requests per minute are per token:
    each response's RateLimit headers tell that one."""
    quota = TenantQuota(scope.counters(), limits)
    usage = {name: quota.used(name) for name, (window, _) in LIMITS.items()
             if window is not None and name != "requests_per_minute"}
    usage.update(stored_chunks=quota_rows.stored_chunks(scope), sources=quota_rows.active_sources(scope),
                 bots=quota_rows.active_bots(scope), tokens=quota_rows.live_tokens(scope, now))
    return usage
