"""Cheap argon2 parameters for the API-level flow tests (see tests/fast_passwords.py)."""

from tests.fast_passwords import cheap_password_hashing  # noqa: F401  (autouse fixture)
