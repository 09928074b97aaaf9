"""Tenant bootstrap and password login: the two use cases that start before any tenant is known, so
they (alone with `api.deps`) use `SystemRepository` for unscoped look-ups and its unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from minirag.db.models import ApiToken, Tenant, User, UserRole
from minirag.db.scope import UniqueViolation
from minirag.db.system import SystemRepository
from minirag.errors import Conflict, Unauthenticated, field_details
from minirag.security.api_tokens import display_prefix, generate_token, hash_token
from minirag.security.jwt import AccessClaims, issue_access_token
from minirag.security.passwords import hash_password, verify_password
from minirag.services.commands import BootstrapTenant, Login
from minirag.settings import Settings


@dataclass
class BootstrapResult:
    tenant: Tenant
    owner: User
    api_token: ApiToken
    raw_token: str


@dataclass
class AccessToken:
    access_token: str
    expires_at: datetime
    expires_in: int


class TenantService:
    def __init__(self, system: SystemRepository, settings: Settings) -> None:
        self._system = system
        self._settings = settings

    def bootstrap(self, command: BootstrapTenant) -> BootstrapResult:
        """Create a tenant, its owner and a first API token in one transaction."""
        with self._system.read():
            slug_taken = self._system.slug_taken(command.tenant_slug)
            email_taken = not slug_taken and self._system.email_taken(command.owner_email)
        if slug_taken:
            raise Conflict("tenant_slug is taken", code="slug_taken",
                           details=field_details("tenant_slug", "already taken"))
        if email_taken:
            raise Conflict("owner_email is taken", code="email_taken",
                           details=field_details("owner_email", "already registered"))
        password_hash = hash_password(command.owner_password)
        raw = generate_token()
        try:
            with self._system.write():
                tenant = self._system.add_tenant(Tenant(id=uuid.uuid4(), name=command.tenant_name,
                                                        slug=command.tenant_slug))
                scope = self._system.tenant_scope(tenant.id)
                owner = scope.add(User(id=uuid.uuid4(), email=command.owner_email, password_hash=password_hash,
                                       role=UserRole.owner))
                scope.flush()
                token = scope.add(ApiToken(id=uuid.uuid4(), user_id=owner.id, name="bootstrap",
                                           prefix=display_prefix(raw), token_hash=hash_token(raw)))
        except UniqueViolation:
            # A concurrent bootstrap took the slug or email between our check and the insert.
            raise Conflict("tenant_slug or owner_email is taken", code="conflict",
                           details=field_details("tenant_slug", "already taken or email already registered")) from None
        return BootstrapResult(tenant, owner, token, raw)

    def login(self, command: Login) -> AccessToken:
        with self._system.read():
            user = self._system.find_user_by_email(command.email)
        if not verify_password(command.password, user.password_hash if user else None) or user is None:
            raise Unauthenticated("wrong email or password")
        token, expires_at = issue_access_token(
            AccessClaims(user.id, user.tenant_id, user.role.value),
            secret=self._settings.require_jwt_secret(),
            ttl_seconds=self._settings.jwt_ttl_seconds,
        )
        return AccessToken(token, expires_at, self._settings.jwt_ttl_seconds)

    def me(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> tuple[Tenant, User]:
        with self._system.read():
            tenant = self._system.get_tenant(tenant_id)
            user = self._system.tenant_scope(tenant_id).get(User, user_id)
        assert tenant is not None  # the principal was just verified against an active tenant
        return tenant, user
