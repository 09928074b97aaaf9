"""Knowledge sources: create (text, URL, or an upload with a presigned PUT), read, update,
deactivate, and request ingestion (validate, mark `queued`, commit, then publish a message).

Deactivation publishes a `purge` message instead of deleting vectors here, so the CRUD function
stays free of the vector client (cold start) and the purge is retried by the queue if it fails.
Retrieval also ignores chunks whose source is inactive, so nothing stale is served meanwhile."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update

from minirag.db.base import utcnow
from minirag.db.models import BotProfile, Source, SourceStatus, SourceType
from minirag.db.scope import PageResult, TenantScope
from minirag.documents.formats import SUPPORTED_LIST, file_extension, upload_content_type
from minirag.errors import Conflict, InvalidInput, PayloadTooLarge, UpstreamUnavailable, field_details
from minirag.observability import logger
from minirag.queue.messages import IngestMessage
from minirag.queue.publisher import IngestPublisher
from minirag.settings import Settings
from minirag.storage.uploads import PresignedUpload, UploadStorage, object_key

class SourceService:
    def __init__(self, scope: TenantScope, settings: Settings, *, publisher: IngestPublisher,
                 storage: UploadStorage | None) -> None:
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

    def create(self, data: dict[str, Any]) -> tuple[Source, PresignedUpload | None]:
        self._scope.require_ref(BotProfile, data["bot_profile_id"], field="bot_profile_id")
        source_type = SourceType(data["source_type"])
        source = Source(
            id=uuid.uuid4(), bot_profile_id=data["bot_profile_id"], name=data["name"], source_type=source_type,
            metadata_=data.get("metadata") or {}, status=SourceStatus.pending,
        )
        upload = None
        if source_type is SourceType.text:
            self._check_text(data["content"])
            source.content = data["content"]
        elif source_type is SourceType.url:
            source.url = data["url"]
        else:
            filename = data["filename"]
            content_type = upload_content_type(filename)
            if content_type is None:
                shown = file_extension(filename) or filename
                raise InvalidInput("filename", f"unsupported file type '{shown}'; supported: {SUPPORTED_LIST}")
            source.filename = filename
            source.content_type = data.get("content_type") or content_type
            source.object_key = object_key(self._scope.tenant_id, source.id, filename)
            assert self._storage is not None
            upload = self._storage.presign_put(source.object_key, source.content_type)
        self._scope.add(source)
        self._scope.commit()
        return source, upload

    def get(self, source_id: uuid.UUID) -> Source:
        return self._scope.get(Source, source_id, active_only=True)

    def list(self, *, bot_profile_id: uuid.UUID | None, status: str | None, limit: int,
             cursor: str | None) -> PageResult[Source]:
        stmt = self._scope.select(Source).where(Source.is_active.is_(True))
        if bot_profile_id is not None:
            stmt = stmt.where(Source.bot_profile_id == bot_profile_id)
        if status is not None:
            stmt = stmt.where(Source.status == SourceStatus(status))
        return self._scope.page(stmt, Source, limit=limit, cursor=cursor)

    def update(self, source_id: uuid.UUID, changes: dict[str, Any]) -> Source:
        source = self.get(source_id)
        for field in ("name", "content", "url"):
            if field in changes and changes[field] is None:
                raise InvalidInput(field, "may not be null")
        if "content" in changes:
            if source.source_type is not SourceType.text:
                raise InvalidInput("content", "only text sources have content")
            self._check_text(changes["content"])
            source.content = changes["content"]
        if "url" in changes:
            if source.source_type is not SourceType.url:
                raise InvalidInput("url", "only url sources have a url")
            source.url = changes["url"]
        if "name" in changes:
            source.name = changes["name"]
        if "metadata" in changes:
            source.metadata_ = changes["metadata"] or {}
        self._scope.commit()
        return source

    def upload_url(self, source_id: uuid.UUID) -> tuple[Source, PresignedUpload]:
        """A fresh presigned PUT for an upload source (the first one may have expired)."""
        source = self.get(source_id)
        if source.source_type is not SourceType.upload or source.object_key is None:
            raise InvalidInput("id", "only upload sources take a file upload")
        assert self._storage is not None
        return source, self._storage.presign_put(source.object_key, source.content_type or "application/octet-stream")

    def request_ingest(self, source_id: uuid.UUID) -> Source:
        """Mark the source `queued` under a new version, commit, then publish. A worker only writes
        for the version it was sent, so a newer request supersedes an older one in flight."""
        source = self.get(source_id)
        self._scope.require_ref(BotProfile, source.bot_profile_id, field="bot_profile_id")
        if source.source_type is SourceType.upload:
            assert self._storage is not None and source.object_key is not None
            size = self._storage.size(source.object_key)
            if size is None:
                raise Conflict("the file has not been uploaded yet: PUT it to the upload URL first",
                               code="upload_missing", details=field_details("upload", "no file uploaded"))
            if size > self._settings.upload_max_bytes:
                raise PayloadTooLarge(f"the uploaded file exceeds {self._settings.upload_max_bytes} bytes",
                                      details=field_details("upload", "too large"))
        now = utcnow()
        source.version += 1
        source.status = SourceStatus.queued
        source.queued_at = now
        source.started_at = None
        source.finished_at = None
        source.last_error = None
        source.documents_done = source.documents_total = source.chunks_total = 0
        source.batches_done = source.batches_total = 0
        self._scope.commit()
        message = IngestMessage(tenant_id=self._scope.tenant_id, source_id=source.id, version=source.version)
        try:
            self._publisher.publish([message])
        except UpstreamUnavailable:
            self._scope.execute(
                update(Source).where(Source.id == source.id, Source.version == message.version)
                .values(status=SourceStatus.failed, last_error="could not enqueue the ingest request; try again",
                        finished_at=utcnow())
            )
            self._scope.commit()
            raise
        return source

    def deactivate(self, source_id: uuid.UUID) -> None:
        source = self.get(source_id)
        self._deactivate(source)
        self._scope.commit()
        self.publish_purge([source])

    def deactivate_for_bot(self, bot: BotProfile) -> list[Source]:
        """Deactivate every active source of a bot (inside the caller's transaction)."""
        stmt = self._scope.select(Source).where(Source.bot_profile_id == bot.id, Source.is_active.is_(True))
        sources = list(self._scope.scalars(stmt))
        for source in sources:
            self._deactivate(source)
        return sources

    def _deactivate(self, source: Source) -> None:
        source.is_active = False
        source.version += 1  # any worker still running for the old version stops writing

    def publish_purge(self, sources: list[Source]) -> None:
        messages = [IngestMessage(tenant_id=self._scope.tenant_id, source_id=s.id, version=s.version, kind="purge")
                    for s in sources]
        if not messages:
            return
        try:
            self._publisher.publish(messages)
        except UpstreamUnavailable:
            # The deactivation stands (retrieval already ignores inactive sources); the vectors are
            # removed by the next purge, e.g. `minirag purge-inactive`.
            logger.warning("purge not enqueued", extra={"source_ids": [str(s.id) for s in sources]})
