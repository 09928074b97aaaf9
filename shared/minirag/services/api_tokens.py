"""API tokens of a tenant: create (raw token returned once), list, revoke (effective immediately)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from minirag.db import quota_rows
from minirag.db.base import utcnow
from minirag.db.models import ApiToken
from minirag.db.scope import PageResult, TenantScope
from minirag.security.api_tokens import display_prefix, generate_token, hash_token
from minirag.services.commands import CreateApiToken
from minirag.services.quotas import tenant_quota
from minirag.settings import Settings


class ApiTokenService:
    def __init__(self, scope: TenantScope, settings: Settings, *, user_id: uuid.UUID) -> None:
        self._scope = scope
        self._settings = settings
        self._user_id = user_id

    def create(self, command: CreateApiToken) -> tuple[ApiToken, str]:
        raw = generate_token()
        expires_at = utcnow() + timedelta(days=command.expires_in_days) if command.expires_in_days else None
        with self._scope.write():
            tenant_quota(self._scope, self._settings, lock=True).require_count_below(
                "tokens", quota_rows.live_tokens(self._scope, utcnow()))
            token = self._scope.add(ApiToken(id=uuid.uuid4(), user_id=self._user_id, name=command.name,
                                             prefix=display_prefix(raw), token_hash=hash_token(raw),
                                             expires_at=expires_at))
        return token, raw

    def list(self, *, limit: int, cursor: str | None) -> PageResult[ApiToken]:
        with self._scope.read():
            return self._scope.page(ApiToken, limit=limit, cursor=cursor)

    def revoke(self, token_id: uuid.UUID) -> None:
        """Idempotent within the tenant: revoking twice is fine; a foreign id is a 404."""
        with self._scope.write():
            token = self._scope.get(ApiToken, token_id)
            if token.revoked_at is None:
                token.revoked_at = utcnow()
