"""Knowledge sources: create (text, URL, or an upload with a presigned PUT), read, update,
deactivate, and request ingestion (validate, mark `queued`, commit, then publish a message).

Deactivation publishes a `purge` message instead of deleting vectors here, so the CRUD function
stays free of the vector client (cold start) and the purge is retried by the queue if it fails.
Retrieval also ignores chunks whose source is inactive, so nothing stale is served meanwhile."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Sequence

from minirag.db import quota_rows, source_rows
from minirag.db.base import utcnow
from minirag.db.models import BotProfile, Document, Source, SourceStatus, SourceType
from minirag.db.scope import PageResult, TenantScope
from minirag.documents.formats import SUPPORTED_LIST, file_extension, upload_content_type
from minirag.errors import (
    Conflict,
    InvalidInput,
    PayloadTooLarge,
    PermanentIngestError,
    UpstreamUnavailable,
    field_details,
)
from minirag.observability import logger
from minirag.queue.messages import IngestMessage
from minirag.queue.publisher import IngestPublisher
from minirag.services.bot_refs import require_active_bot
from minirag.services.commands import CreateSource, ListPage, ListSources, UpdateSource, UploadSource
from minirag.services.quotas import tenant_quota
from minirag.settings import Settings
from minirag.storage.uploads import PresignedUpload, UploadStorage, object_key

# The stored status `failed` is shown as `error`, the seed system's word. The stored value stays:
# renaming it would rewrite a CHECK constraint on the busiest table for a word only the API shows.
_PUBLIC_STATUS = {SourceStatus.failed: "error"}
_STORED_STATUS = {public: stored for stored, public in _PUBLIC_STATUS.items()}


def public_status(status: SourceStatus) -> str:
    """A stored status as the API shows it."""
    return _PUBLIC_STATUS.get(status, status.value)


def stored_status(name: str) -> SourceStatus:
    """An API status name (a list filter) as stored."""
    return _STORED_STATUS.get(name) or SourceStatus(name)


def source_inactive() -> Conflict:
    return Conflict('the source is deactivated; reactivate it with PATCH {"is_active": true} first',
                    code="source_inactive", details=field_details("id", "deactivated"))


@dataclass
class SourceChanged:
    source: Source
    message: str | None = None  # what the caller has to do next (e.g. ingest a reactivated source)


class SourceService:
    def __init__(self, scope: TenantScope, settings: Settings, *, publisher: IngestPublisher,
                 storage: UploadStorage) -> None:
        self._scope = scope
        self._settings = settings
        self._publisher = publisher
        self._storage = storage

    def _check_text(self, content: str) -> None:
        if len(content) > self._settings.max_text_source_chars:
            raise PayloadTooLarge(
                f"content exceeds {self._settings.max_text_source_chars} characters; upload it as a file instead",
                details=field_details("content", "too long"),
            )

    def create(self, command: CreateSource) -> tuple[Source, PresignedUpload | None]:
        self._check_url(command.url)
        if command.refresh_schedule != "none" and command.source_type != "url":
            raise InvalidInput("refresh_schedule", "only url sources can be refreshed on a schedule")
        with self._scope.write():
            # The body refers to a bot: missing or another tenant's is a 422 naming the field.
            require_active_bot(self._scope, command.bot_profile_id, missing_is_invalid=True)
            tenant_quota(self._scope, self._settings, lock=True).require_count_below(
                "sources", quota_rows.active_sources(self._scope))
            source = Source(
                id=uuid.uuid4(), bot_profile_id=command.bot_profile_id, name=command.name,
                description=command.description,
                source_type=SourceType(command.source_type), metadata_=command.metadata or {},
                status=SourceStatus.pending, refresh_schedule=command.refresh_schedule,
            )
            upload = None
            if source.source_type is SourceType.text:
                assert command.content is not None  # the API schema requires it for text sources
                self._check_text(command.content)
                source.content = command.content
            elif source.source_type is SourceType.url:
                source.url = command.url
            else:
                assert command.filename is not None  # the API schema requires it for upload sources
                content_type = upload_content_type(command.filename)
                if content_type is None:
                    shown = file_extension(command.filename) or command.filename
                    raise InvalidInput("filename", f"Unsupported file type '{shown}'; supported: {SUPPORTED_LIST}")
                source.filename = command.filename
                source.content_type = command.content_type or content_type
                source.object_key = object_key(self._scope.tenant_id, source.id, command.filename)
                upload = self._storage.presign_put(source.object_key, source.content_type)
            self._scope.add(source)
        return source, upload

    def upload(self, command: UploadSource) -> Source:
        """A file sent in the request itself (multipart): stored under the source's object key, as a
        presigned PUT would store it, so ingest reads both alike. Checked (bot, quota) before the file
        is stored and again when the row is written; a file whose row is refused is removed."""
        limit = self._settings.upload_direct_max_bytes
        if len(command.data) > limit:
            raise PayloadTooLarge(f"the file exceeds {limit} bytes, the direct upload limit; create an upload "
                                  "source (POST /v1/sources) and PUT the file to its presigned URL instead",
                                  details=field_details("file", f"larger than {limit} bytes"))
        if not command.data:
            raise InvalidInput("file", "the file is empty")
        content_type = upload_content_type(command.filename)
        if content_type is None:
            shown = file_extension(command.filename) or command.filename
            raise InvalidInput("file", f"Unsupported file type '{shown}'; supported: {SUPPORTED_LIST}")
        source_id = uuid.uuid4()
        key = object_key(self._scope.tenant_id, source_id, command.filename)

        def checks() -> None:
            require_active_bot(self._scope, command.bot_profile_id, missing_is_invalid=True)  # 422, as create
            tenant_quota(self._scope, self._settings, lock=True).require_count_below(
                "sources", quota_rows.active_sources(self._scope))

        with self._scope.read():
            checks()
        self._storage.put(key, command.data, content_type)
        try:
            with self._scope.write():
                checks()
                source = self._scope.add(Source(
                    id=source_id, bot_profile_id=command.bot_profile_id, name=command.name,
                    source_type=SourceType.upload, metadata_=command.metadata or {}, status=SourceStatus.pending,
                    filename=command.filename, content_type=content_type, object_key=key,
                    file_size=len(command.data)))
        except Exception:
            self._storage.delete(key)
            raise
        return source

    def get(self, source_id: uuid.UUID) -> Source:
        with self._scope.read():
            return self._get(source_id)

    def documents(self, source_id: uuid.UUID, query: ListPage) -> PageResult[Document]:
        """The documents of the version retrieval serves (title, external id, metadata, chunk count)."""
        with self._scope.read():
            source = self._get(source_id)
            return source_rows.documents_page(self._scope, source.id, source.ready_version, limit=query.limit,
                                              cursor=query.cursor)

    def _get(self, source_id: uuid.UUID, *, for_update: bool = False) -> Source:
        """Active or deactivated: deactivation is visible (`is_active: false`) and reversible."""
        return self._scope.get(Source, source_id, for_update=for_update)

    def _get_active(self, source_id: uuid.UUID) -> Source:
        source = self._get(source_id)
        if not source.is_active:
            raise source_inactive()
        return source

    def list(self, query: ListSources) -> PageResult[Source]:
        filters: dict[str, Any] = {}
        if query.bot_profile_id is not None:
            filters["bot_profile_id"] = query.bot_profile_id
        if query.status is not None:
            filters["status"] = stored_status(query.status)
        if not query.include_children:
            filters["parent_id"] = None  # batch children are listed under their parent
        with self._scope.read():
            return self._scope.page(Source, limit=query.limit, cursor=query.cursor,
                                    active_only=not query.include_inactive, **filters)

    def update(self, source_id: uuid.UUID, command: UpdateSource) -> SourceChanged:
        changes = command.changes()
        active = changes.pop("is_active", None)
        self._check_url(changes.get("url"))
        message = None
        purge: Sequence[Source] = ()
        with self._scope.write():
            source = self._get(source_id)
            if active is True and not source.is_active:
                message = self._reactivate(source)
                if source.children_count:  # a batch comes back as a whole
                    for child in self._scope.all(Source, parent_id=source.id, is_active=False):
                        self._reactivate(child)
                    message = (f"reactivated with its children; ingest them again to serve them "
                               f"(POST /v1/sources/{source.id}/ingest-children)")
            elif active is False and source.is_active:
                purge = [source, *self._active_children(source)]
                for gone in purge:
                    self._deactivate(gone)
            self._apply(source, changes)
        self.publish_purge(purge)
        return SourceChanged(source, message)

    def _active_children(self, source: Source) -> Sequence[Source]:
        return self._scope.all(Source, active_only=True, parent_id=source.id) if source.children_count else ()

    def _apply(self, source: Source, changes: dict[str, Any]) -> None:
        if "description" in changes:
            source.description = changes["description"]
        if "content" in changes:
            if source.source_type is not SourceType.text:
                raise InvalidInput("content", "only text sources have content")
            self._check_text(changes["content"])
            source.stale = source.stale or source.content != changes["content"]
            source.content = changes["content"]
        if "url" in changes:
            if source.source_type is not SourceType.url:
                raise InvalidInput("url", "only url sources have a url")
            source.stale = source.stale or source.url != changes["url"]
            source.url = changes["url"]
        if "refresh_schedule" in changes:
            if source.source_type is not SourceType.url:
                raise InvalidInput("refresh_schedule", "only url sources can be refreshed on a schedule")
            source.refresh_schedule = changes["refresh_schedule"]
        if "name" in changes:
            source.name = changes["name"]
        if "metadata" in changes:
            source.metadata_ = changes["metadata"] or {}

    def _reactivate(self, source: Source) -> str:
        """Back in the API and the quota, but served only after a new ingest: its vectors were (or
        are being) purged, so nothing is visible until then (`ready_version` cleared, `pending`).
        The version moves on, so nothing of an earlier request still in flight writes for it."""
        require_active_bot(self._scope, source.bot_profile_id)
        tenant_quota(self._scope, self._settings, lock=True).require_count_below(
            "sources", quota_rows.active_sources(self._scope))
        file_gone = source.source_type is SourceType.upload and source.purged_at is not None
        source.is_active = True
        source.version += 1
        source.status = SourceStatus.pending
        source.ready_version = None
        source.purged_at = None
        source.last_error = None
        source.queued_at = source.started_at = source.finished_at = None
        source.documents_done = source.documents_total = source.chunks_total = 0
        source.batches_done = source.batches_total = 0
        if file_gone:
            return (f"reactivated; its file was removed with its vectors: upload it again "
                    f"(POST /v1/sources/{source.id}/upload-url), then ingest it (POST /v1/sources/{source.id}/ingest)")
        return f"reactivated; ingest it again to serve it (POST /v1/sources/{source.id}/ingest)"

    def _check_url(self, url: str | None, *, field: str = "url") -> None:
        """A URL the fetcher's SSRF guard refuses whatever happens (no such host, a private or loopback
        address unless URL_FETCH_ALLOW_PRIVATE) is a 422 naming `url` now, not a failed ingest later.
        A temporary DNS failure passes: the ingest retries it. Runs before any transaction opens (DNS)."""
        if url is None:
            return
        from minirag.documents.fetch import vet_url  # imports httpx: paid by URL sources, not by every cold start

        try:
            vet_url(url, allow_private=self._settings.url_fetch_allow_private)
        except PermanentIngestError as exc:
            raise InvalidInput(field, exc.message) from None
        except UpstreamUnavailable:
            pass

    check_url = _check_url  # the batch service vets each child's URL the same way
    check_text = _check_text

    def upload_url(self, source_id: uuid.UUID) -> tuple[Source, PresignedUpload]:
        """A fresh presigned PUT for an upload source (the first one may have expired)."""
        with self._scope.read():
            source = self._get_active(source_id)
        if source.source_type is not SourceType.upload or source.object_key is None:
            raise InvalidInput("id", "only upload sources take a file upload")
        return source, self._storage.presign_put(source.object_key, source.content_type or "application/octet-stream")

    def request_ingest(self, source_id: uuid.UUID, *, refresh: bool = False) -> Source:
        """Mark the source `queued` under a new version, commit, then publish. A worker only writes
        for the version it was sent, so a newer request supersedes an older one in flight. A
        `refresh` (the schedule) lets the worker keep the served version when the bytes are unchanged."""
        with self._scope.write():
            source = self._get_active(source_id)
            if source.children_count:
                raise InvalidInput("id", "a batch parent has no content of its own; "
                                         "POST /v1/sources/{id}/ingest-children ingests its children")
            require_active_bot(self._scope, source.bot_profile_id)
            # Refused while the tenant is already at a limit (the worker checks what the source adds);
            # this source's own chunks do not count: a re-ingest replaces them.
            quota = tenant_quota(self._scope, self._settings)
            held = quota_rows.stored_chunks(self._scope, replacing=(source.id, source.version + 1))
            quota.require_count_below("stored_chunks", held, adding=1)
            quota.require_room("ingest_documents_per_day")
            quota.require_room("ingest_chunks_per_day")
            if source.source_type is SourceType.upload:
                assert source.object_key is not None
                size = self._storage.size(source.object_key)
                if size is None:
                    raise Conflict("the file has not been uploaded yet: PUT it to the upload URL first",
                                   code="upload_missing", details=field_details("upload", "no file uploaded"))
                if size > self._settings.upload_max_bytes:
                    raise PayloadTooLarge(f"the uploaded file exceeds {self._settings.upload_max_bytes} bytes",
                                          details=field_details("upload", "too large"))
                source.file_size = size
            now = utcnow()
            source.version += 1
            source.status = SourceStatus.queued
            source.queued_at = now
            source.started_at = None
            source.finished_at = None
            source.last_error = None
            source.documents_done = source.documents_total = source.chunks_total = 0
            source.batches_done = source.batches_total = 0
            source.stale = False
            source.skipped = None
            source.refresh_version = source.version if refresh else None
            if refresh:
                source.last_refreshed_at = now
        message = IngestMessage(tenant_id=self._scope.tenant_id, source_id=source.id, version=source.version)
        try:
            self._publisher.publish([message])
        except UpstreamUnavailable:
            with self._scope.write():  # unless a newer request superseded this one meanwhile
                latest = self._scope.get(Source, source.id, for_update=True)
                if latest.version == message.version:
                    latest.status = SourceStatus.failed
                    latest.last_error = "could not enqueue the ingest request; try again"
                    latest.finished_at = utcnow()
            raise
        return source

    def deactivate(self, source_id: uuid.UUID) -> None:
        """Soft delete; deactivating an inactive source again changes nothing."""
        with self._scope.write():
            source = self._get(source_id)
            if not source.is_active:
                return
            self._deactivate(source)
            children = self._active_children(source)
            for child in children:  # a batch goes as a whole
                self._deactivate(child)
        self.publish_purge([source, *children])

    def deactivate_for_bot(self, bot: BotProfile) -> Sequence[Source]:
        """Deactivate every active source of a bot (inside the caller's write)."""
        sources = self._scope.all(Source, active_only=True, bot_profile_id=bot.id)
        for source in sources:
            self._deactivate(source)
        return sources

    def _deactivate(self, source: Source) -> None:
        source.is_active = False
        source.version += 1  # any worker still running for the old version stops writing

    def publish_purge(self, sources: Sequence[Source]) -> None:
        messages = [IngestMessage(tenant_id=self._scope.tenant_id, source_id=s.id, version=s.version, kind="purge")
                    for s in sources]
        if not messages:
            return
        try:
            self._publisher.publish(messages)
        except UpstreamUnavailable:
            # The deactivation stands (retrieval already ignores inactive sources); the reconciler
            # re-sends the purge (purged_at is unset), or `minirag purge-inactive` runs it.
            logger.warning("purge not enqueued", extra={"source_ids": [str(s.id) for s in sources]})
