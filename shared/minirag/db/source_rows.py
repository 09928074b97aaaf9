"""The ingest pipeline's queries on one tenant's source rows: the source lock, a version's document
rows and progress, its complete slices, deleting versions, and which versions retrieval may serve.

Every function takes the `TenantScope` and filters by its tenant itself (besides the session's
safety net), so callers never write the tenant filter. None commits: the caller's unit of work does."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy import Integer, delete, func, literal_column, select

from minirag.db.models import Chunk, Document, Source, SourceStatus
from minirag.db.scope import PageResult, TenantScope
from minirag.errors import InvalidInput


def lock_source(scope: TenantScope, source_id: uuid.UUID) -> Source | None:
    """The source row, reloaded and locked until the transaction ends (None when gone): counters
    and status change only under this lock, so concurrent slices count exactly."""
    return scope.find(Source, source_id, for_update=True)


def version_wanted(scope: TenantScope, source_id: uuid.UUID, version: int, statuses: Iterable[SourceStatus]) -> bool:
    """Whether the source is still active, at this version and in one of `statuses`: read as
    columns, so a Source already in the session's identity map cannot answer from stale state."""
    stmt = select(Source.is_active, Source.version, Source.status).where(Source.tenant_id == scope.tenant_id,
                                                                         Source.id == source_id)
    row = scope.execute(stmt).first()
    return row is not None and bool(row[0]) and row[1] == version and row[2] in set(statuses)


def _version_rows(scope: TenantScope, model: type[Document] | type[Chunk], source_id: uuid.UUID, *,
                  version: int | None = None, keep_version: int | None = None) -> list[Any]:
    """Criteria for a source's rows of `model`: all, one version, or all but one."""
    criteria = [model.tenant_id == scope.tenant_id, model.source_id == source_id]
    if version is not None:
        criteria.append(model.version == version)
    if keep_version is not None:
        criteria.append(model.version != keep_version)
    return criteria


def existing_positions(scope: TenantScope, source_id: uuid.UUID, version: int, positions: Iterable[int]) -> set[int]:
    """Which of these document positions of the version already have a row (a redelivered slice)."""
    stmt = select(Document.position).where(*_version_rows(scope, Document, source_id, version=version),
                                           Document.position.in_(list(positions)))
    return set(scope.scalars(stmt))


def version_progress(scope: TenantScope, source_id: uuid.UUID, version: int) -> tuple[int, int]:
    """(documents, chunks) recorded for the version, counted from its document rows."""
    stmt = (select(func.count(Document.id), func.coalesce(func.sum(Document.chunk_count), 0))
            .where(*_version_rows(scope, Document, source_id, version=version)))
    documents, chunks = scope.execute(stmt).one()
    return int(documents), int(chunks)


def complete_slices(scope: TenantScope, source_id: uuid.UUID, version: int, *, size: int,
                    documents_total: int) -> int:
    """How many of the version's slices of `size` documents (the last one shorter) have all their
    document rows: the rows are grouped by `position // size`."""
    if documents_total <= 0 or size <= 0:
        return 0
    bucket = (Document.position // literal_column(str(int(size)), Integer)).label("slice_index")
    stmt = (select(bucket, func.count(Document.id))
            .where(*_version_rows(scope, Document, source_id, version=version))
            .group_by(literal_column("slice_index")))
    counts = scope.execute(stmt).all()
    return sum(1 for index, count in counts if count == min(size, documents_total - int(index) * size))


def delete_version_rows(scope: TenantScope, source_id: uuid.UUID, *, version: int | None = None,
                        keep_version: int | None = None) -> None:
    """Delete a source's chunk and document rows: all, one version, or all but `keep_version`."""
    scope.execute(delete(Chunk).where(*_version_rows(scope, Chunk, source_id, version=version,
                                                     keep_version=keep_version)))
    scope.execute(delete(Document).where(*_version_rows(scope, Document, source_id, version=version,
                                                        keep_version=keep_version)))


def visible_versions(scope: TenantScope, source_ids: Iterable[uuid.UUID]) -> dict[str, int]:
    """source id -> the version retrieval may serve, for the given sources that are active and ready."""
    ids = list(source_ids)
    if not ids:
        return {}
    stmt = (select(Source.id, Source.ready_version)
            .where(Source.tenant_id == scope.tenant_id, Source.id.in_(ids), Source.is_active.is_(True),
                   Source.ready_version.is_not(None)))
    return {str(row[0]): int(row[1]) for row in scope.execute(stmt).all()}


# -- sources part (issue 11): batch parents, documents, refresh ------------------------------------

@dataclass
class ChildrenSummary:
    """A batch parent's active children: how many are in each status, and their chunks."""

    statuses: dict[SourceStatus, int] = field(default_factory=dict)
    chunks: int = 0
    first_error: str | None = None


def children_summaries(scope: TenantScope, parent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ChildrenSummary]:
    """parent id -> its children's statuses and chunks, in one GROUP BY for a page of parents."""
    ids = list(parent_ids)
    if not ids:
        return {}
    stmt = (select(Source.parent_id, Source.status, func.count(Source.id), func.sum(Source.chunks_total),
                   func.min(Source.last_error))
            .where(Source.tenant_id == scope.tenant_id, Source.parent_id.in_(ids), Source.is_active.is_(True))
            .group_by(Source.parent_id, Source.status))
    out: dict[uuid.UUID, ChildrenSummary] = {}
    for parent_id, status, count, chunks, error in scope.execute(stmt).all():
        summary = out.setdefault(parent_id, ChildrenSummary())
        summary.statuses[SourceStatus(status)] = int(count)
        summary.chunks += int(chunks or 0)
        if SourceStatus(status) is SourceStatus.failed and error:
            summary.first_error = error
    return out


def version_hashes(scope: TenantScope, source_id: uuid.UUID, version: int) -> list[str]:
    """The content hashes of a version's documents, in document order (a refresh compares them)."""
    stmt = (select(Document.content_sha256).where(*_version_rows(scope, Document, source_id, version=version))
            .order_by(Document.position))
    return list(scope.scalars(stmt))


def documents_page(scope: TenantScope, source_id: uuid.UUID, version: int | None, *, limit: int,
                   cursor: str | None) -> PageResult[Document]:
    """The visible version's documents in source order (position), keyset-paged by position: the
    cursor is the last position seen (none before the first ready version)."""
    if version is None:
        return PageResult([], None)
    after = -1
    if cursor:
        try:
            after = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().removeprefix("p:"))
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise InvalidInput("cursor", "malformed cursor; pass the X-Next-Cursor of a previous page") from None
    stmt = (select(Document).where(*_version_rows(scope, Document, source_id, version=version),
                                   Document.position > after)
            .order_by(Document.position).limit(limit + 1))
    rows = list(scope.scalars(stmt))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = base64.urlsafe_b64encode(f"p:{rows[-1].position}".encode()).decode().rstrip("=")
    return PageResult(rows, next_cursor)
