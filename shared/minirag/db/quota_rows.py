"""What the per-tenant limits read: the tenant's overrides (locked, so two creations cannot both
take the last slot) and the counts of what a tenant holds. Tenant-bound through the `TenantScope`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, not_, or_, select

from minirag.db.models import ApiToken, BotProfile, Chunk, Source, Tenant
from minirag.db.scope import TenantScope


def tenant_limits(scope: TenantScope, *, lock: bool = False) -> dict[str, Any]:
    """The operator's overrides of this tenant's limits. With `lock` (inside a write), the tenant row
    stays locked until the transaction ends: on PostgreSQL concurrent count checks of one tenant then
    take turns (SQLite's write transactions already do)."""
    stmt = select(Tenant.limits).where(Tenant.id == scope.tenant_id)
    if lock:
        stmt = stmt.with_for_update()
    return dict(scope.execute(stmt).scalar_one_or_none() or {})


def active_bots(scope: TenantScope) -> int:
    return scope.count(BotProfile, BotProfile.is_active.is_(True))


def active_sources(scope: TenantScope) -> int:
    return scope.count(Source, Source.is_active.is_(True))


def live_tokens(scope: TenantScope, now: datetime) -> int:
    return scope.count(ApiToken, ApiToken.revoked_at.is_(None),
                       or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))


def stored_chunks(scope: TenantScope, *, replacing: tuple[uuid.UUID, int] | None = None) -> int:
    """Chunk rows the tenant stores. `replacing=(source, version)`: leave out that source's other
    versions, which go once the version is ready (a re-ingest does not count a source twice)."""
    criteria = []
    if replacing is not None:
        source_id, version = replacing
        criteria.append(not_(and_(Chunk.source_id == source_id, Chunk.version != version)))
    return scope.count(Chunk, *criteria)
