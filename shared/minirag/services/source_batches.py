"""Batches: one parent source holding many children (text or URL), created in one transaction,
listed under the parent, ingested together. The parent has no content of its own; its status is
its children's, aggregated when read:

- no active children: the parent's own (`pending`);
- any child queued or processing: `processing`;
- every child ready: `ready`;
- otherwise, with any child failed: `error` (last_error says how many, and the first reason);
- otherwise (some never ingested): `pending`.

Deactivating the parent deactivates its children (SourceService.deactivate / update)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Iterable

from minirag.db import quota_rows, source_rows
from minirag.db.models import Source, SourceStatus, SourceType
from minirag.db.scope import PageResult, TenantScope
from minirag.errors import InvalidInput
from minirag.services.bot_refs import require_active_bot
from minirag.services.commands import CreateBatch, ListPage
from minirag.services.quotas import tenant_quota
from minirag.services.sources import SourceService, public_status, source_inactive
from minirag.settings import Settings

IN_PROGRESS = (SourceStatus.queued, SourceStatus.processing)


@dataclass(frozen=True)
class ParentView:
    """What a parent shows instead of its own (empty) row values."""

    status: str
    chunk_count: int
    last_error: str | None


def aggregate(summary: source_rows.ChildrenSummary | None, own_status: str) -> ParentView:
    if summary is None or not summary.statuses:
        return ParentView(own_status, 0, None)
    counts = summary.statuses
    total = sum(counts.values())
    failed = counts.get(SourceStatus.failed, 0)
    if any(counts.get(s, 0) for s in IN_PROGRESS):
        return ParentView("processing", summary.chunks, None)
    if counts.get(SourceStatus.ready, 0) == total:
        return ParentView("ready", summary.chunks, None)
    if failed:
        reason = f"{failed} of {total} children failed; first: {summary.first_error}"
        return ParentView("error", summary.chunks, reason)
    return ParentView("pending", summary.chunks, None)


class SourceBatchService:
    def __init__(self, scope: TenantScope, settings: Settings, *, sources: SourceService) -> None:
        self._scope = scope
        self._settings = settings
        self._sources = sources

    def create(self, command: CreateBatch) -> tuple[Source, list[Source]]:
        """The parent and every child, or nothing (one transaction); URLs vetted first (DNS, no
        transaction open)."""
        limit = self._settings.source_batch_max_children
        if len(command.children) > limit:
            raise InvalidInput("children", f"at most {limit} children per batch (SOURCE_BATCH_MAX_CHILDREN)")
        for i, child in enumerate(command.children):
            self._sources.check_url(child.url, field=f"children.{i}.url")
        kind = SourceType(command.source_type)
        with self._scope.write():
            require_active_bot(self._scope, command.bot_profile_id, missing_is_invalid=True)
            tenant_quota(self._scope, self._settings, lock=True).require_count_below(
                "sources", quota_rows.active_sources(self._scope), adding=1 + len(command.children))
            parent = self._scope.add(Source(
                id=uuid.uuid4(), bot_profile_id=command.bot_profile_id, name=command.name,
                description=command.description, source_type=kind, metadata_=command.metadata or {},
                status=SourceStatus.pending, children_count=len(command.children)))
            children = []
            for child in command.children:
                if kind is SourceType.text and child.content is not None:
                    self._sources.check_text(child.content)
                children.append(self._scope.add(Source(
                    id=uuid.uuid4(), bot_profile_id=command.bot_profile_id, parent_id=parent.id, name=child.name,
                    description=child.description, source_type=kind, content=child.content, url=child.url,
                    metadata_=child.metadata or {}, status=SourceStatus.pending)))
            self._scope.flush()
        return parent, children

    def children(self, parent_id: uuid.UUID, page: ListPage, *, include_inactive: bool = False) -> PageResult[Source]:
        with self._scope.read():
            self._scope.get(Source, parent_id)
            return self._scope.page(Source, limit=page.limit, cursor=page.cursor, newest_first=False,
                                    active_only=not include_inactive, parent_id=parent_id)

    def ingest_children(self, parent_id: uuid.UUID) -> int:
        """Queue every active child's ingest (each as `POST /v1/sources/{id}/ingest` would)."""
        with self._scope.read():
            parent = self._scope.get(Source, parent_id)
            if not parent.children_count:
                raise InvalidInput("id", "not a batch: it has no children (POST /v1/sources/{id}/ingest ingests it)")
            child_ids = [c.id for c in self._scope.all(Source, active_only=True, parent_id=parent.id)]
        if not parent.is_active:
            raise source_inactive()
        for child_id in child_ids:
            self._sources.request_ingest(child_id)
        return len(child_ids)

    def parent_views(self, sources: Iterable[Any]) -> dict[uuid.UUID, ParentView]:
        """The aggregated view of each batch parent among `sources` (one query for all)."""
        parents = [s for s in sources if s.children_count]
        if not parents:
            return {}
        with self._scope.read():
            summaries = source_rows.children_summaries(self._scope, [p.id for p in parents])
        return {p.id: aggregate(summaries.get(p.id), public_status(p.status)) for p in parents}
