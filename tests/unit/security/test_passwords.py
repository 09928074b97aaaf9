"""Argon2id password hashing."""

from __future__ import annotations

import pytest

from minirag.security.passwords import hash_password, verify_password

pytestmark = pytest.mark.real_password_hashing


def test_hash_password_is_salted_argon2id():
    # Given one password
    # When it is hashed twice
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")

    # Then both are argon2id hashes with different salts, neither containing the password
    assert first.startswith("$argon2id$") and second.startswith("$argon2id$")
    assert first != second
    assert "correct horse" not in first


def test_verify_password_accepts_right_and_rejects_wrong_password():
    # Given a stored hash
    stored = hash_password("correct horse battery")

    # When passwords are verified against it
    # Then only the right one matches
    assert verify_password("correct horse battery", stored) is True
    assert verify_password("correct horse batterY", stored) is False
    assert verify_password("", stored) is False


def test_verify_password_with_no_hash_returns_false():
    # Given no stored hash (an unknown user)
    # When a password is verified
    # Then it is False (after spending the same work as a real check)
    assert verify_password("minirag-dummy-password-for-timing", None) is False
    assert verify_password("anything", None) is False


def test_verify_password_with_corrupt_hash_returns_false():
    # Given a stored value that is not an argon2 hash
    # When a password is verified against it
    # Then it is False rather than an error
    assert verify_password("secret", "not-a-hash") is False
    assert verify_password("secret", "$argon2id$v=19$m=65536,t=3,p=4$broken") is False


def test_hash_password_uses_production_cost_parameters():
    # Given the real hasher (API-level tests swap in cheap parameters; this one must not be cheap)
    stored = hash_password("correct horse battery")

    # Then the hash records argon2id with at least 64 MiB memory, 3 passes and 4 lanes
    params = dict(p.split("=") for p in stored.split("$")[3].split(","))
    assert int(params["m"]) >= 65536 and int(params["t"]) >= 3 and int(params["p"]) >= 1
