"""Fernet field encryption of provider keys, with key rotation through FERNET_KEYS="new,old"."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken

from minirag.security import fernet
from minirag.security.fernet import decrypt_secret, encrypt_secret, generate_key, rotate_secret
from minirag.settings import get_settings


def _use_keys(monkeypatch: pytest.MonkeyPatch, *keys: str) -> None:
    monkeypatch.setenv("FERNET_KEYS", ",".join(keys))
    get_settings.cache_clear()
    fernet.reset_cache()


def test_encrypt_decrypt_round_trip(monkeypatch):
    # Given one key
    _use_keys(monkeypatch, generate_key())

    # When a secret is encrypted
    token = encrypt_secret("sk-live-123456")

    # Then the ciphertext does not contain it, differs each time, and decrypts back
    assert "sk-live-123456" not in token
    assert encrypt_secret("sk-live-123456") != token
    assert decrypt_secret(token) == "sk-live-123456"


def test_old_key_still_decrypts_after_rotation(monkeypatch):
    # Given a secret encrypted under the old key
    old, new = generate_key(), generate_key()
    _use_keys(monkeypatch, old)
    token = encrypt_secret("sk-before-rotation")

    # When FERNET_KEYS becomes "new,old"
    _use_keys(monkeypatch, new, old)

    # Then the old ciphertext still decrypts, and new encryptions use the new key
    assert decrypt_secret(token) == "sk-before-rotation"
    fresh = encrypt_secret("sk-after-rotation")
    assert Fernet(new.encode()).decrypt(fresh.encode()) == b"sk-after-rotation"
    with pytest.raises(InvalidToken):
        Fernet(old.encode()).decrypt(fresh.encode())


def test_rotate_secret_reencrypts_under_new_key(monkeypatch):
    # Given a secret encrypted under the old key, and FERNET_KEYS="new,old"
    old, new = generate_key(), generate_key()
    _use_keys(monkeypatch, old)
    token = encrypt_secret("sk-rotate-me")
    _use_keys(monkeypatch, new, old)

    # When it is rotated
    rotated = rotate_secret(token)

    # Then the new ciphertext decrypts with the new key alone
    assert rotated != token
    _use_keys(monkeypatch, new)
    assert decrypt_secret(rotated) == "sk-rotate-me"
    # And the old ciphertext no longer decrypts once the old key is dropped
    with pytest.raises(RuntimeError):
        decrypt_secret(token)


def test_decrypt_with_unknown_key_raises_without_revealing_secret(monkeypatch):
    # Given a secret encrypted under a key that is no longer configured
    _use_keys(monkeypatch, generate_key())
    token = encrypt_secret("sk-lost")
    _use_keys(monkeypatch, generate_key())

    # When it is decrypted
    # Then it is a clear error that carries neither the secret nor the keys
    with pytest.raises(RuntimeError) as raised:
        decrypt_secret(token)
    assert "sk-lost" not in str(raised.value) and "FERNET_KEYS" in str(raised.value)


def test_missing_fernet_keys_raises(monkeypatch):
    # Given no FERNET_KEYS
    monkeypatch.delenv("FERNET_KEYS", raising=False)
    get_settings.cache_clear()
    fernet.reset_cache()

    # When a secret is encrypted
    # Then it is refused
    with pytest.raises(RuntimeError):
        encrypt_secret("x")
