"""Field encryption for provider keys with rotation: MultiFernet encrypts with the first key of
FERNET_KEYS and decrypts with any; `rotate` re-encrypts under the first key."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from minirag.settings import get_settings


@lru_cache(maxsize=1)
def _multi_fernet() -> MultiFernet:
    keys = get_settings().require_fernet_keys()
    if not keys:
        raise RuntimeError("FERNET_KEYS is empty")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def reset_cache() -> None:
    _multi_fernet.cache_clear()


def encrypt_secret(plaintext: str) -> str:
    return _multi_fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_secret(ciphertext: str) -> str:
    try:
        return _multi_fernet().decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise RuntimeError("stored secret cannot be decrypted with the configured FERNET_KEYS") from exc


def rotate_secret(ciphertext: str) -> str:
    """The same secret under the first key (`minirag rotate-keys`); InvalidToken if no key opens it."""
    return _multi_fernet().rotate(ciphertext.encode("ascii")).decode("ascii")


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")
