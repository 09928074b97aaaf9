"""Throttling password guesses, per account (the email asked for) and per client address.

Every attempt is counted *before* the password is checked, in the same write that checks the count
(the counter row is locked), so a burst of parallel guesses is counted one by one; a successful
login clears its account's count and takes its own attempt off the address's count. Once a key has
`max` counted attempts, the next one must wait `LOGIN_BACKOFF_SECONDS * 2^(n - max)` seconds after
the last (n attempts so far; at most an hour): 429 `login_throttled` with `Retry-After`. Attempts
refused while waiting are not counted, so waiting is the only way on. Counts are forgotten a day
after the last attempt. The email's count exists whether or not an account has it, so the throttle
tells nothing about which emails are registered."""

from __future__ import annotations

import hashlib

from minirag.db.counters import Counters
from minirag.errors import RateLimited
from minirag.services import quotas
from minirag.settings import Settings

MAX_BACKOFF_SECONDS = 3600
MEMORY_SECONDS = 86400


def _account_key(email: str) -> str:
    return "login:email:" + hashlib.sha256(email.encode("utf-8")).hexdigest()[:40]


def _address_key(address: str) -> str:
    return "login:addr:" + address[:100]


class LoginThrottle:
    def __init__(self, counters: Counters, settings: Settings) -> None:
        self._counters = counters
        self._settings = settings

    def backoff(self, attempts: int, allowed: int) -> int:
        """Seconds to wait after the last of `attempts` before another (0 below `allowed`)."""
        if attempts < allowed:
            return 0
        return min(MAX_BACKOFF_SECONDS, self._settings.login_backoff_seconds * 2 ** min(attempts - allowed, 20))

    def admit(self, email: str, address: str, *, now: int | None = None) -> None:
        """Count this attempt, or refuse it (429) while its account or address must wait. Call
        inside a write."""
        now = quotas.epoch_now() if now is None else now
        keys = [(_account_key(email), self._settings.login_max_failures_per_account, "email"),
                (_address_key(address), self._settings.login_max_failures_per_address, "client_address")]
        for key, allowed, field in keys:
            seen = self._counters.peek(key, now=now, lock=True)
            wait = seen.last_at + self.backoff(seen.count, allowed) - now
            if wait > 0:
                raise RateLimited(
                    f"too many failed logins for this {'account' if field == 'email' else 'address'}; "
                    f"try again in {wait} s", code="login_throttled",
                    details=[{"field": field, "reason": f"{seen.count} failed attempts; wait {wait} s"}],
                    retry_after=wait,
                    headers={"RateLimit-Limit": str(allowed), "RateLimit-Remaining": "0",
                             "RateLimit-Reset": str(wait)},
                )
        for key, _, _ in keys:
            self._counters.bump(key, now=now, expires_at=now + MEMORY_SECONDS)

    def succeeded(self, email: str, address: str, *, now: int | None = None) -> None:
        """The password was right: forget the account's failures, and this attempt on the address."""
        now = quotas.epoch_now() if now is None else now
        self._counters.clear(_account_key(email))
        self._counters.bump(_address_key(address), now=now, expires_at=now + MEMORY_SECONDS, amount=-1)
