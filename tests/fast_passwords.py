"""An autouse fixture for API-level tests: argon2 with minimal cost parameters.

Every tenant bootstrap hashes a password and every login verifies one; with the production
parameters (64 MiB, t=3) that is 50-250 ms each, which dominates suites that bootstrap two tenants
per test. The hash format and the code paths stay the same (verification reads the parameters from
the hash); tests/unit/security/test_passwords.py covers the real parameters.
Enable it in a directory with `from tests.fast_passwords import cheap_password_hashing  # noqa: F401`
in that directory's conftest.py."""

from __future__ import annotations

from functools import lru_cache

import pytest
from argon2 import PasswordHasher


@lru_cache(maxsize=1)
def _cheap_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@lru_cache(maxsize=1)
def _cheap_dummy_hash() -> str:
    return _cheap_hasher().hash("minirag-dummy-password-for-timing")


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from minirag.security import passwords

    monkeypatch.setattr(passwords, "_hasher", _cheap_hasher)
    monkeypatch.setattr(passwords, "_dummy_hash", _cheap_dummy_hash)
