"""API tokens of a tenant: create (raw token returned once), list, revoke (effective immediately).
A token may be narrowed by scopes and bound to one bot (a publishable key), never widened beyond
what the credential that creates it may do."""

from __future__ import annotations

import uuid
from datetime import timedelta

from minirag.db import quota_rows
from minirag.db.base import utcnow
from minirag.db.models import ApiToken, BotProfile
from minirag.db.scope import PageResult, TenantScope
from minirag.errors import Forbidden, InvalidInput, field_details
from minirag.security import permissions
from minirag.security.api_tokens import display_prefix, generate_token, hash_token
from minirag.services.commands import Caller, CreateApiToken
from minirag.services.quotas import tenant_quota
from minirag.settings import Settings


class ApiTokenService:
    def __init__(self, scope: TenantScope, settings: Settings, *, user_id: uuid.UUID,
                 caller: Caller | None = None) -> None:
        self._scope = scope
        self._settings = settings
        self._user_id = user_id
        # Without a caller (operator tools): the owner's whole role.
        self._caller = caller or Caller(user_id, "owner", permissions.OWNER)

    def _scopes_for(self, command: CreateApiToken) -> tuple[str, ...] | None:
        """The scopes to store: as asked, else the creator's (bound keys: chat and retrieve), in
        canonical order; refused when they would let the token do what its creator may not."""
        bound = command.bot_profile_id is not None
        asked = command.scopes
        if asked is None:
            asked = permissions.BOUND_KEY_SCOPES if bound else self._caller.scopes
        if asked is None:
            return None
        scopes = tuple(s for s in permissions.SCOPES if s in set(asked))
        if bound and not set(scopes) <= set(permissions.BOUND_KEY_SCOPES):
            raise InvalidInput("scopes", "a key bound to one bot takes only chat and retrieve")
        granted = permissions.effective_permissions(self._caller.role, scopes, bound_to_bot=bound)
        beyond = sorted(granted - self._caller.permissions)
        if beyond:
            raise Forbidden(f"this credential may not grant {', '.join(beyond)}",
                            details=field_details("scopes", f"beyond the creating credential: {', '.join(beyond)}"))
        return scopes

    def create(self, command: CreateApiToken) -> tuple[ApiToken, str]:
        scopes = self._scopes_for(command)
        raw = generate_token()
        expires_at = utcnow() + timedelta(days=command.expires_in_days) if command.expires_in_days else None
        origins = list(dict.fromkeys(command.allowed_origins)) if command.allowed_origins else None
        with self._scope.write():
            if command.bot_profile_id is not None:
                self._scope.require_ref(BotProfile, command.bot_profile_id, field="bot_profile_id")
            tenant_quota(self._scope, self._settings, lock=True).require_count_below(
                "tokens", quota_rows.live_tokens(self._scope, utcnow()))
            token = self._scope.add(ApiToken(id=uuid.uuid4(), user_id=self._user_id, name=command.name,
                                             prefix=display_prefix(raw), token_hash=hash_token(raw),
                                             expires_at=expires_at, scopes=list(scopes) if scopes is not None else None,
                                             bot_profile_id=command.bot_profile_id, allowed_origins=origins))
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
