"""The few deliberate unscoped look-ups: by token hash and login email (before any tenant is known),
uniqueness checks at bootstrap, sign-up invites and the login throttle's counters. Every statement
carries the SYSTEM_QUERY option so the tenant safety net lets it through; nothing else in the code
base may set that option. Like every repository it never commits: the caller's `read()` / `write()`
unit of work does."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from minirag.db.base import utcnow
from minirag.db.counters import Counters
from minirag.db.models import ApiToken, BotProfile, SignupInvite, Tenant, User, Webhook
from minirag.db.scope import SYSTEM_QUERY, TenantScope, unit_of_work

_SYSTEM = {SYSTEM_QUERY: True}
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


class SystemRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def read(self) -> AbstractContextManager[None]:
        """`with system.read():` a read-only transaction (no write lock on SQLite)."""
        return unit_of_work(self._session, write=False)

    def write(self) -> AbstractContextManager[None]:
        """`with system.write():` the write transaction; a unique violation raises `UniqueViolation`."""
        return unit_of_work(self._session, write=True)

    def tenant_scope(self, tenant_id: uuid.UUID) -> TenantScope:
        """The scope of one tenant on the same session (and so inside the same unit of work)."""
        return TenantScope(self._session, tenant_id)

    def slug_taken(self, slug: str) -> bool:
        stmt = select(Tenant.id).where(Tenant.slug == slug).limit(1)
        return self._session.execute(stmt, execution_options=_SYSTEM).first() is not None

    def counters(self) -> Counters:
        """The counters not bound to a tenant (login throttles), on the same unit of work."""
        return Counters(self._session)

    def find_active_token(self, token_hash: str, now: datetime) -> tuple[ApiToken, User] | None:
        """The live token with this hash, its active user and active tenant, or None."""
        stmt = (
            select(ApiToken, User)
            .join(User, (User.id == ApiToken.user_id) & (User.tenant_id == ApiToken.tenant_id))
            .join(Tenant, Tenant.id == ApiToken.tenant_id)
            .where(
                ApiToken.token_hash == token_hash,
                ApiToken.revoked_at.is_(None),
                (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now),
                User.is_active.is_(True),
                Tenant.is_active.is_(True),
            )
        )
        row = self._session.execute(stmt, execution_options=_SYSTEM).first()
        return (row[0], row[1]) if row else None

    def origin_has_a_key(self, origin: str, now: datetime) -> bool:
        """Whether some live publishable key (bound to a bot) lists this origin in allowed_origins: what
        a CORS preflight, which carries no credential, may know. The JSON list is read in Python (no
        portable JSON containment across SQLite and PostgreSQL); the scan covers bot-bound keys only."""
        stmt = (
            select(ApiToken.allowed_origins)
            .join(Tenant, Tenant.id == ApiToken.tenant_id)
            .where(
                ApiToken.bot_profile_id.is_not(None),
                ApiToken.revoked_at.is_(None),
                (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now),
                Tenant.is_active.is_(True),
            )
        )
        rows = self._session.execute(stmt, execution_options=_SYSTEM).scalars()
        return any(origin in (origins or ()) for origins in rows)

    @staticmethod
    def touch_due(token: ApiToken, now: datetime) -> bool:
        """Use is recorded at most once a minute per token, so reads do not all become writes."""
        return token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL

    def touch_token(self, token: ApiToken, now: datetime) -> None:
        stmt = update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
        self._session.execute(stmt, execution_options=_SYSTEM)

    def find_users_by_email(self, email: str, *, tenant_slug: str | None = None,
                            limit: int = 10) -> list[User]:
        """The active accounts with this email (an email is unique per tenant, not globally), oldest
        first; with `tenant_slug`, only that tenant's."""
        stmt = (
            select(User)
            .join(Tenant, Tenant.id == User.tenant_id)
            .where(User.email == email, User.is_active.is_(True), Tenant.is_active.is_(True))
            .order_by(User.created_at, User.id)
            .limit(limit)
        )
        if tenant_slug is not None:
            stmt = stmt.where(Tenant.slug == tenant_slug)
        return list(self._session.execute(stmt, execution_options=_SYSTEM).scalars())

    def find_active_user(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
        stmt = (
            select(User)
            .join(Tenant, Tenant.id == User.tenant_id)
            .where(User.id == user_id, User.tenant_id == tenant_id, User.is_active.is_(True),
                   Tenant.is_active.is_(True))
        )
        return self._session.execute(stmt, execution_options=_SYSTEM).scalars().first()

    def add_tenant(self, tenant: Tenant) -> Tenant:
        self._session.add(tenant)
        self._session.flush()
        return tenant

    def get_tenant(self, tenant_id: uuid.UUID) -> Tenant | None:
        stmt = select(Tenant).where(Tenant.id == tenant_id)
        return self._session.execute(stmt, execution_options=_SYSTEM).scalars().first()

    def find_tenant_by_slug(self, slug: str, *, for_update: bool = False) -> Tenant | None:
        """The operator's handle on a tenant (`minirag set-limits <slug>`)."""
        stmt = select(Tenant).where(Tenant.slug == slug)
        if for_update:
            stmt = stmt.with_for_update()
        return self._session.execute(stmt, execution_options=_SYSTEM).scalars().first()

    def add_invite(self, invite: SignupInvite) -> SignupInvite:
        self._session.add(invite)
        return invite

    def consume_invite(self, code_hash: str, now: datetime, tenant_id: uuid.UUID) -> bool:
        """Use the invite once: True when this call did (unknown, used or expired codes are False).
        One UPDATE, so two sign-ups racing with one code cannot both succeed."""
        stmt = (update(SignupInvite)
                .where(SignupInvite.code_hash == code_hash, SignupInvite.used_at.is_(None),
                       SignupInvite.expires_at > now)
                .values(used_at=now, tenant_id=tenant_id, updated_at=now)
                .execution_options(synchronize_session=False))
        result = self._session.execute(stmt, execution_options=_SYSTEM)
        return bool(getattr(result, "rowcount", 0) == 1)

    @staticmethod
    def now() -> datetime:
        return utcnow()


def bot_profiles_with_provider_key(session: Session) -> list[BotProfile]:
    """Every bot profile that stores a provider key, across all tenants: only `minirag rotate-keys`
    reads keys this way (to re-encrypt them). The caller changes and commits them."""
    stmt = select(BotProfile).where(BotProfile.provider_key_encrypted.is_not(None)).order_by(BotProfile.id)
    return list(session.execute(stmt, execution_options=_SYSTEM).scalars())


def all_tenant_ids(session: Session) -> list[uuid.UUID]:
    """Every tenant's id: for platform maintenance that then works tenant by tenant."""
    return list(session.scalars(select(Tenant.id).order_by(Tenant.id)))


def webhooks_with_secret(session: Session) -> list[Webhook]:
    """Every webhook across all tenants: only `minirag rotate-keys` reads secrets this way (to
    re-encrypt them). The caller changes and commits them."""
    return list(session.execute(select(Webhook).order_by(Webhook.id), execution_options=_SYSTEM).scalars())
