"""The reconciler's look-ups across tenants: which sources sit in progress without progress, and
which deactivated sources were never purged. They return ids only; every change is then made
through a fresh session bound to the source's tenant (`tenant_scope`), as the ingest worker does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from minirag.db.models import Source, SourceStatus, SourceType
from minirag.db.scope import SYSTEM_QUERY, TenantScope, unit_of_work

_SYSTEM = {SYSTEM_QUERY: True}
SourceRef = tuple[uuid.UUID, uuid.UUID]  # (tenant_id, source_id)


class Sweep:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def _refs(self, *criteria: Any) -> list[SourceRef]:
        stmt = select(Source.tenant_id, Source.id).where(*criteria).order_by(Source.updated_at)
        with self._sessions() as session, unit_of_work(session, write=False):
            return [(row[0], row[1]) for row in session.execute(stmt, execution_options=_SYSTEM)]

    def stalled_sources(self, before: datetime) -> list[SourceRef]:
        """Active sources queued or processing whose row last changed before `before`."""
        return self._refs(Source.is_active.is_(True), Source.status.in_([SourceStatus.queued, SourceStatus.processing]),
                          Source.updated_at < before)

    def unpurged_sources(self, before: datetime | None = None) -> list[SourceRef]:
        """Deactivated sources whose purge has not completed (deactivated before `before`, if given)."""
        criteria: list[Any] = [Source.is_active.is_(False), Source.purged_at.is_(None)]
        if before is not None:
            criteria.append(Source.updated_at < before)
        return self._refs(*criteria)

    def due_refreshes(self, now: datetime, intervals: dict[str, timedelta], limit: int) -> list[SourceRef]:
        """Active, ingested URL sources whose `refresh_schedule` interval has passed since their last
        refresh (or their last ingest), not in progress: at most `limit`, taken round-robin across
        tenants (each tenant's most overdue first), so one tenant's many sources cannot starve the rest."""
        last = func.coalesce(Source.last_refreshed_at, Source.finished_at, Source.created_at)
        due = or_(*[and_(Source.refresh_schedule == name, last <= now - every) for name, every in intervals.items()])
        turn = func.row_number().over(partition_by=Source.tenant_id, order_by=(last, Source.id)).label("turn")
        ranked = (select(Source.tenant_id, Source.id, last.label("last"), turn)
                  .where(Source.is_active.is_(True), Source.source_type == SourceType.url,
                         Source.ready_version.is_not(None),
                         Source.status.in_([SourceStatus.ready, SourceStatus.failed]), due)
                  .subquery())
        stmt = select(ranked.c.tenant_id, ranked.c.id).order_by(ranked.c.turn, ranked.c.last, ranked.c.id).limit(limit)
        with self._sessions() as session, unit_of_work(session, write=False):
            return [(row[0], row[1]) for row in session.execute(stmt, execution_options=_SYSTEM)]

    @contextmanager
    def tenant_scope(self, tenant_id: uuid.UUID) -> Iterator[TenantScope]:
        """A fresh session bound to one tenant (a session serves one tenant only)."""
        with self._sessions() as session:
            yield TenantScope(session, tenant_id)
