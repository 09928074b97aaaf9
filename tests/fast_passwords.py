"""A pytest plugin (listed in tests/conftest.py's `pytest_plugins`): argon2 with minimal cost
parameters, for every test not marked `real_password_hashing`.

Every tenant bootstrap hashes a password and every login verifies one; with the production
parameters (64 MiB, t=3) that is 50-250 ms each, which dominates suites that bootstrap two tenants
per test. The hash format and the code paths stay the same (verification reads the parameters from
the hash); tests/unit/security/test_passwords.py (marked) covers the real parameters."""

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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_password_hashing: hash with the production argon2 parameters")


@pytest.fixture(autouse=True)
def cheap_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_password_hashing"):
        return
    from minirag.security import passwords

    monkeypatch.setattr(passwords, "_hasher", _cheap_hasher)
    monkeypatch.setattr(passwords, "_dummy_hash", _cheap_dummy_hash)
