"""API tokens: `mrg_<43 url-safe chars>`. The prefix makes them recognisable (secret scanners, logs
redaction); the server keeps only the SHA-256 (a 256-bit random token needs no slow hash) and a short
display prefix, so a database leak reveals no usable token."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "mrg_"
DISPLAY_CHARS = 12


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def display_prefix(raw_token: str) -> str:
    return raw_token[:DISPLAY_CHARS]


def looks_like_api_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)
