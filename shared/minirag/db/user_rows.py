"""What the team rules read: whether an email is taken in the tenant and how many active owners it
has, counted under a lock of the tenant row so two concurrent demotions cannot both pass."""

from __future__ import annotations

from sqlalchemy import select

from minirag.db.models import Tenant, User, UserRole
from minirag.db.scope import TenantScope


def lock_team(scope: TenantScope) -> None:
    """Inside a write: changes to this tenant's roles take turns (PostgreSQL row lock; SQLite's
    write transactions already serialise)."""
    scope.execute(select(Tenant.id).where(Tenant.id == scope.tenant_id).with_for_update())


def active_owners(scope: TenantScope) -> int:
    return scope.count(User, User.role == UserRole.owner, User.is_active.is_(True))


def email_taken(scope: TenantScope, email: str) -> bool:
    return scope.count(User, User.email == email) > 0
