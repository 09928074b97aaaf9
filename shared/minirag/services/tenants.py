"""Tenant bootstrap and password login: the two use cases that start before any tenant is known, so
they (alone with `api.deps`) use `SystemRepository` for unscoped look-ups and its unit of work."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from minirag.db.base import utcnow
from minirag.db.models import ApiToken, SignupInvite, Tenant, User, UserRole
from minirag.db.scope import UniqueViolation
from minirag.db.system import SystemRepository
from minirag.errors import Conflict, Forbidden, NotFound, Unauthenticated, field_details
from minirag.security.api_tokens import display_prefix, generate_token, hash_token
from minirag.security.jwt import AccessClaims, issue_access_token
from minirag.security.passwords import hash_password, verify_password
from minirag.services.commands import BootstrapTenant, Login
from minirag.services.login_throttle import LoginThrottle
from minirag.services.quotas import apply_overrides, current_usage, effective_limits, validate_overrides
from minirag.settings import Settings


@dataclass
class BootstrapResult:
    tenant: Tenant
    owner: User
    api_token: ApiToken
    raw_token: str


@dataclass
class TenantOverview:
    tenant: Tenant
    user: User
    limits: dict[str, int]
    usage: dict[str, int]


@dataclass
class AccessToken:
    access_token: str
    expires_at: datetime
    expires_in: int


class TenantService:
    def __init__(self, system: SystemRepository, settings: Settings) -> None:
        self._system = system
        self._settings = settings

    def bootstrap(self, command: BootstrapTenant, *, by_operator: bool = False) -> BootstrapResult:
        """Create a tenant, its owner and a first API token in one transaction. Sign-up follows
        SIGNUP (open, invite: a single-use code, closed); the operator (`minirag create-tenant`) is
        always let through. An email already registered elsewhere is no obstacle: emails are unique
        per tenant, so the answer cannot tell anyone whether an address has an account."""
        invite_hash = None if by_operator else self._signup_allowed(command)
        with self._system.read():
            slug_taken = self._system.slug_taken(command.tenant_slug)
        if slug_taken:
            raise Conflict(f"tenant_slug '{command.tenant_slug}' is taken", code="slug_taken",
                           details=field_details("tenant_slug", "already taken"))
        password_hash = hash_password(command.owner_password)
        raw = generate_token()
        try:
            with self._system.write():
                tenant = self._system.add_tenant(Tenant(id=uuid.uuid4(), name=command.tenant_name,
                                                        slug=command.tenant_slug))
                if invite_hash is not None and not self._system.consume_invite(invite_hash, utcnow(), tenant.id):
                    raise Forbidden("the invite code is unknown, used or expired", code="invite_invalid",
                                    details=field_details("invite_code", "unknown, already used or expired"))
                scope = self._system.tenant_scope(tenant.id)
                owner = scope.add(User(id=uuid.uuid4(), email=command.owner_email, password_hash=password_hash,
                                       role=UserRole.owner, display_name=command.owner_display_name))
                scope.flush()
                token = scope.add(ApiToken(id=uuid.uuid4(), user_id=owner.id, name="bootstrap",
                                           prefix=display_prefix(raw), token_hash=hash_token(raw)))
        except UniqueViolation:
            # A concurrent bootstrap took the slug between our check and the insert.
            raise Conflict(f"tenant_slug '{command.tenant_slug}' is taken", code="slug_taken",
                           details=field_details("tenant_slug", "already taken")) from None
        return BootstrapResult(tenant, owner, token, raw)

    def _signup_allowed(self, command: BootstrapTenant) -> str | None:
        """Refuse a sign-up SIGNUP does not allow; with `invite`, the hash of the code to use up."""
        if self._settings.signup == "closed":
            raise Forbidden("sign-up is closed: the operator creates tenants (minirag create-tenant)",
                            code="signup_closed")
        if self._settings.signup == "invite":
            if not command.invite_code:
                raise Forbidden("sign-up needs an invite code (from the operator: minirag invite)",
                                code="invite_required", details=field_details("invite_code", "required"))
            return hash_token(command.invite_code)
        return None

    def issue_invite(self, *, valid_days: int) -> tuple[SignupInvite, str]:
        """A single-use sign-up code (returned once; only its SHA-256 is stored)."""
        raw = "inv_" + secrets.token_urlsafe(24)
        with self._system.write():
            invite = self._system.add_invite(SignupInvite(id=uuid.uuid4(), code_hash=hash_token(raw),
                                                          expires_at=utcnow() + timedelta(days=valid_days)))
        return invite, raw

    def login(self, command: Login) -> AccessToken:
        """Throttled per account and per address (`LoginThrottle`). The password is checked against
        every account with the email (one per tenant at most); `tenant_slug` picks one when the same
        password opens several. No account still costs a hash check, so timing tells little."""
        throttle = LoginThrottle(self._system.counters(), self._settings)
        with self._system.write():
            throttle.admit(command.email, command.client_address)
            users = self._system.find_users_by_email(command.email, tenant_slug=command.tenant_slug)
        matches = [u for u in users if verify_password(command.password, u.password_hash)]
        if not users:
            verify_password(command.password, None)  # the same work as a wrong password
        if not matches:
            raise Unauthenticated("wrong email or password")
        with self._system.write():
            throttle.succeeded(command.email, command.client_address)
        if len(matches) > 1:
            raise Conflict("this email and password open accounts in several tenants; send tenant_slug",
                           code="tenant_required", details=field_details("tenant_slug", "required for this account"))
        user = matches[0]
        token, expires_at = issue_access_token(
            AccessClaims(user.id, user.tenant_id, user.role.value),
            secret=self._settings.require_jwt_secret(),
            ttl_seconds=self._settings.jwt_ttl_seconds,
        )
        return AccessToken(token, expires_at, self._settings.jwt_ttl_seconds)

    def me(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> TenantOverview:
        """The caller's tenant and user, with the tenant's limits and what it uses of each now."""
        with self._system.read():
            tenant = self._system.get_tenant(tenant_id)
            scope = self._system.tenant_scope(tenant_id)
            user = scope.get(User, user_id)
            assert tenant is not None  # the principal was just verified against an active tenant
            limits = effective_limits(self._settings, tenant.limits)
            usage = current_usage(scope, limits, utcnow())
        return TenantOverview(tenant, user, limits, usage)

    def set_limits(self, slug: str, changes: Mapping[str, Any]) -> tuple[Tenant, dict[str, int]]:
        """The operator's per-tenant overrides (`minirag set-limits`): a value replaces the default,
        None restores it. Returns the tenant and its limits now."""
        checked = validate_overrides(changes)
        with self._system.write():
            tenant = self._system.find_tenant_by_slug(slug, for_update=True)
            if tenant is None:
                raise NotFound("tenant", field="tenant_slug")
            tenant.limits = apply_overrides(tenant.limits, checked)
        return tenant, effective_limits(self._settings, tenant.limits)
