"""The few deliberate unscoped look-ups: by token hash and login email (before any tenant is known)
and uniqueness checks at bootstrap. Every statement carries the SYSTEM_QUERY option so the tenant
safety net lets it through; nothing else in the code base may set that option. Like every
repository it never commits: the caller's `read()` / `write()` unit of work does."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from minirag.db.base import utcnow
from minirag.db.models import ApiToken, BotProfile, Tenant, User
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

    def email_taken(self, email: str) -> bool:
        stmt = select(User.id).where(User.email == email).limit(1)
        return self._session.execute(stmt, execution_options=_SYSTEM).first() is not None

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

    @staticmethod
    def touch_due(token: ApiToken, now: datetime) -> bool:
        """Use is recorded at most once a minute per token, so reads do not all become writes."""
        return token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL

    def touch_token(self, token: ApiToken, now: datetime) -> None:
        stmt = update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
        self._session.execute(stmt, execution_options=_SYSTEM)

    def find_user_by_email(self, email: str) -> User | None:
        stmt = (
            select(User)
            .join(Tenant, Tenant.id == User.tenant_id)
            .where(User.email == email, User.is_active.is_(True), Tenant.is_active.is_(True))
        )
        return self._session.execute(stmt, execution_options=_SYSTEM).scalars().first()

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
