"""Access JWTs: issue, decode, expiry, signature, audience and required claims."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import jwt as pyjwt

from minirag.security.jwt import ALGORITHM, AUDIENCE, ISSUER, AccessClaims, decode_access_token, issue_access_token

SECRET = "unit-test-secret-" + "x" * 32
CLAIMS = AccessClaims(user_id=uuid.uuid4(), tenant_id=uuid.uuid4(), role="owner")


def test_issue_then_decode_returns_the_claims():
    # Given a token issued for a user of a tenant
    token, expires_at = issue_access_token(CLAIMS, secret=SECRET, ttl_seconds=600)

    # When it is decoded with the same secret
    decoded = decode_access_token(token, secret=SECRET)

    # Then the claims come back, and the token expires ttl seconds after it was issued
    assert decoded == CLAIMS
    payload = pyjwt.decode(token, options={"verify_signature": False})
    assert payload["exp"] - payload["iat"] == 600
    assert payload["exp"] == int(expires_at.timestamp())
    assert (payload["iss"], payload["aud"]) == (ISSUER, AUDIENCE)


def test_decode_expired_token_returns_none():
    # Given a token that expired a minute ago
    token, _ = issue_access_token(CLAIMS, secret=SECRET, ttl_seconds=-60)

    # When it is decoded
    # Then it is rejected
    assert decode_access_token(token, secret=SECRET) is None


def test_decode_with_wrong_secret_returns_none():
    # Given a token signed with another secret
    token, _ = issue_access_token(CLAIMS, secret="another-secret-" + "y" * 32, ttl_seconds=600)

    # When it is decoded with ours
    # Then it is rejected
    assert decode_access_token(token, secret=SECRET) is None


def test_decode_rejects_alg_none_wrong_audience_and_missing_claims():
    # Given tokens that are unsigned, for another audience, or missing the tenant claim
    now = int(datetime.now(timezone.utc).timestamp())
    base = {"sub": str(CLAIMS.user_id), "tid": str(CLAIMS.tenant_id), "role": "owner", "iss": ISSUER,
            "aud": AUDIENCE, "iat": now, "exp": now + 600}
    unsigned = pyjwt.encode(base, None, algorithm="none")
    other_audience = pyjwt.encode({**base, "aud": "other"}, SECRET, algorithm=ALGORITHM)
    other_issuer = pyjwt.encode({**base, "iss": "other"}, SECRET, algorithm=ALGORITHM)
    no_tenant = pyjwt.encode({k: v for k, v in base.items() if k != "tid"}, SECRET, algorithm=ALGORITHM)
    bad_uuid = pyjwt.encode({**base, "tid": "not-a-uuid"}, SECRET, algorithm=ALGORITHM)

    # When each is decoded
    # Then each is rejected
    for token in (unsigned, other_audience, other_issuer, no_tenant, bad_uuid, "garbage", ""):
        assert decode_access_token(token, secret=SECRET) is None, token


def test_issued_tokens_are_unique():
    # Given two tokens for the same claims
    first, _ = issue_access_token(CLAIMS, secret=SECRET, ttl_seconds=600)
    second, _ = issue_access_token(CLAIMS, secret=SECRET, ttl_seconds=600)

    # Then they differ (each has its own jti)
    assert first != second
