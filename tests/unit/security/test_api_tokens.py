"""API tokens: generation, SHA-256 hashing and the display prefix."""

from __future__ import annotations

import hashlib

from minirag.security.api_tokens import (
    DISPLAY_CHARS,
    TOKEN_PREFIX,
    display_prefix,
    generate_token,
    hash_token,
    looks_like_api_token,
)


def test_generate_token_is_prefixed_random_and_url_safe():
    # Given many generated tokens
    tokens = [generate_token() for _ in range(200)]

    # Then each has the recognisable prefix, ~256 bits of url-safe randomness, and none repeats
    assert all(t.startswith(TOKEN_PREFIX) for t in tokens)
    assert all(len(t) == len(TOKEN_PREFIX) + 43 for t in tokens)
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
    assert all(set(t[len(TOKEN_PREFIX):]) <= allowed for t in tokens)
    assert len(set(tokens)) == len(tokens)


def test_hash_token_is_deterministic_sha256_hex():
    # Given a token
    token = generate_token()

    # When it is hashed twice
    # Then both hashes are the same SHA-256 hex digest, and differ for another token
    assert hash_token(token) == hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert len(hash_token(token)) == 64
    assert hash_token(token) != hash_token(generate_token())


def test_display_prefix_shows_only_the_start():
    # Given a token
    token = generate_token()

    # When its display prefix is taken
    prefix = display_prefix(token)

    # Then it is the first characters only, far too short to use
    assert prefix == token[:DISPLAY_CHARS] and token.startswith(prefix)
    assert len(prefix) - len(TOKEN_PREFIX) <= 8


def test_looks_like_api_token_tells_tokens_from_jwts():
    # Given an API token and a JWT-shaped string
    # Then only the API token is recognised
    assert looks_like_api_token(generate_token())
    assert not looks_like_api_token("eyJhbGciOiJIUzI1NiJ9.e30.sig")
