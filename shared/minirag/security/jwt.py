"""Short-lived access JWTs (HS256, secret from settings), accepted as Bearer like API tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

ISSUER = "minirag"
AUDIENCE = "minirag-api"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: str


def issue_access_token(claims: AccessClaims, *, secret: str, ttl_seconds: int) -> tuple[str, datetime]:
    now = datetime.now(timezone.utc)
    expires_at = now + timedelta(seconds=ttl_seconds)
    payload = {
        "sub": str(claims.user_id),
        "tid": str(claims.tenant_id),
        "role": claims.role,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": uuid.uuid4().hex,
    }
    import jwt  # PyJWT (~50 ms with cryptography): paid by logins and JWT requests, not by API-token ones

    return jwt.encode(payload, secret, algorithm=ALGORITHM), expires_at


def decode_access_token(token: str, *, secret: str) -> AccessClaims | None:
    """Claims of a valid, unexpired token signed by us, else None (the caller answers 401)."""
    import jwt

    try:
        payload = jwt.decode(
            token, secret, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "tid"]},
        )
        return AccessClaims(uuid.UUID(payload["sub"]), uuid.UUID(payload["tid"]), str(payload.get("role", "member")))
    except (jwt.PyJWTError, ValueError, KeyError):
        return None
