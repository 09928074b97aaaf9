"""The ingest pipeline behind the SQS consumer: read → extract → chunk → embed → index → record.

Message kinds (see `minirag.queue.messages`):
- `plan`: read the source once, count its documents; a small source is processed right here, a
  large batch (JSON Lines / zip) fans out one `batch` message per slice of documents, so each
  invocation stays well inside the function timeout and slices run in parallel.
- `batch`: process documents [start, stop) of one version.
- `purge`: the source was deactivated: remove its vectors, rows and uploaded file.

Delivery is at least once. Point, document and chunk ids are deterministic (uuid5 of source,
version and positions), so a redelivered or concurrently delivered message rewrites the same
points and finds its document rows already there; counters (documents, chunks, complete slices)
are recomputed from the rows under a lock on the source row, so they are exact however often a
message is delivered, and exactly one worker sees the last slice land and flips the source to
`ready`. A worker that finds its version failed, superseded or deactivated when it comes to record
removes the points it wrote, so no late writer leaves vectors behind.
Retrieval serves only chunks whose (source, version) is the source's `ready_version`: a version
becomes visible in one commit, old versions are removed after it (again on any redelivery, so an
interrupted clean-up is finished later), and a failed version is never visible: its points and
rows are removed when it fails.

Outcome of one delivery (`run`; the ingest function reports failed records as `batchItemFailures`):
- success, superseded or permanent failure (unsupported file, SSRF refusal, a provider that refuses
  the key or the request, ...): acknowledged; a permanent failure marks the version `failed` with a
  readable reason;
- retryable failure (provider, vector store, DB, network): raised, so the record comes back; the
  source stays in progress with the reason in `last_error`; on its last receive
  (ApproximateReceiveCount >= INGEST_MAX_RECEIVE_COUNT, the queue's maxReceiveCount) the version is
  marked `failed` too, and the message goes on to the DLQ.

A fan-out splits N documents into `batches_total` slices of `ceil(N / batches_total)` documents
(balanced, each at most INGEST_BATCH_DOCUMENTS), so the slice boundaries follow from the source
row alone and `batches_done` can be counted from the document rows.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from minirag.db import source_rows
from minirag.db.base import utcnow
from minirag.db.models import BotProfile, Source, SourceStatus, SourceType
from minirag.db.scope import TenantScope
from minirag.errors import AppError, PermanentIngestError
from minirag.llm.ports import ModelGateway
from minirag.observability import logger, metrics
from minirag.queue.messages import IngestMessage
from minirag.queue.publisher import IngestPublisher
from minirag.services.ingest_slices import (
    IN_PROGRESS,
    INGEST_WARNINGS,
    Row,
    SlicePipeline,
    SourceBytes,
    citation_title,
    document_id,
    plan_slices,
    slice_size,
)
from minirag.services.webhook_events import WebhookEvents
from minirag.settings import Settings
from minirag.storage.uploads import UploadStorage
from minirag.vectorstore.indexes import VectorIndexes

if TYPE_CHECKING:
    from minirag.documents.extract import BatchPlan

__all__ = ["IngestionService", "citation_title", "document_id", "plan_slices", "slice_size"]


class IngestionService:
    def __init__(self, scope: TenantScope, settings: Settings, *, gateway: ModelGateway, storage: UploadStorage,
                 publisher: IngestPublisher, indexes: VectorIndexes, fetcher: Any = None,
                 events: WebhookEvents | None = None) -> None:
        self._scope = scope
        self._settings = settings
        self._gateway = gateway
        self._storage = storage
        self._publisher = publisher
        self._indexes = indexes
        self._fetcher = fetcher
        self._events = events  # webhooks: source.ingested / source.failed, after the commit
        self._slices = SlicePipeline(scope, settings, gateway=gateway, indexes=indexes)

    # -- entry point -----------------------------------------------------------------------------
    def run(self, message: IngestMessage, receive_count: int) -> None:
        """Handle one delivery of `message` and settle its outcome: returning acknowledges it,
        raising hands it back to the queue for another attempt (see the module docstring)."""
        max_receives = self._settings.ingest_max_receive_count
        last_attempt = receive_count >= max_receives
        try:
            self._handle(message)
        except AppError as exc:
            if not exc.retryable:
                logger.info("ingest failed permanently", extra={"reason": exc.message, "code": exc.code})
                self.mark_failed(message, exc.message)
                return
            logger.warning("ingest failed, will retry", extra={"reason": exc.message, "receive_count": receive_count})
            if last_attempt:
                self.mark_failed(message, f"{exc.message} (gave up after {receive_count} attempts)")
            else:
                self._note_retry(message, f"{exc.message} (attempt {receive_count} of {max_receives}; retrying)")
            raise
        except Exception:
            logger.exception("ingest failed unexpectedly", extra={"receive_count": receive_count})
            if last_attempt:
                self.mark_failed(message, f"internal error while ingesting (gave up after {receive_count} "
                                          "attempts); ingest again to retry")
            else:
                self._note_retry(message, f"internal error while ingesting (attempt {receive_count} of "
                                          f"{max_receives}; retrying)")
            raise

    def _handle(self, message: IngestMessage) -> None:
        if message.kind == "purge":
            self._purge(message)
            return
        # The tenant-scoped load is the only trust the message gets. It locks the source row, so
        # `queued -> processing` cannot overwrite a concurrent failure or a newer request.
        with self._scope.write():
            source = source_rows.lock_source(self._scope, message.source_id)
            if source is None or not source.is_active or source.version != message.version:
                logger.info("ingest message superseded or source gone; acknowledged",
                            extra={"source_id": str(message.source_id), "version": message.version})
                return
            bot = self._scope.get(BotProfile, source.bot_profile_id)
            if source.status is SourceStatus.queued:
                source.status = SourceStatus.processing
                source.started_at = utcnow()
        if source.status is SourceStatus.ready:
            # A redelivery after success: finish the old versions' clean-up (idempotent) in case
            # the attempt that made the version ready was interrupted before it.
            self._retire_old_versions(source.id, bot, message.version)
            return
        if source.status is SourceStatus.failed:
            return
        if message.kind == "plan":
            self._plan(source, bot, message)
        else:
            self._process_batch(source, bot, message.version, message.start, message.stop)

    # -- plan --------------------------------------------------------------------------------------
    def _plan(self, source: Source, bot: BotProfile, message: IngestMessage) -> None:
        from minirag.documents.extract import plan_batch

        content = self._read(source)
        digest = hashlib.sha256(content.data).hexdigest()
        if self._unchanged(source, message.version, digest):
            return
        plan = plan_batch(content.data, filename=content.filename, content_type=content.content_type,
                          zip_limits=self._slices.zip_limits())
        if plan.count == 0:
            raise PermanentIngestError("the source contains no documents")
        slices = plan_slices(plan.count, self._settings.ingest_batch_documents)
        rows = self._measure(source, bot, content, plan.count, keep=len(slices) == 1)
        if not self._set_totals(source.id, message.version, plan.count, len(slices), plan, digest):
            return  # superseded, deactivated or failed meanwhile
        if len(slices) == 1:
            self._process_batch(source, bot, message.version, 0, plan.count, rows=rows)
            return
        # A redelivered plan publishes the same slices again: batch messages are idempotent.
        self._publisher.publish([
            IngestMessage(tenant_id=message.tenant_id, source_id=message.source_id, version=message.version,
                          kind="batch", start=start, stop=stop)
            for start, stop in slices
        ])
        logger.info("ingest fanned out", extra={"source_id": str(source.id), "documents": plan.count,
                                                  "batches": len(slices)})

    def _measure(self, source: Source, bot: BotProfile, content: SourceBytes, documents: int,
                 *, keep: bool) -> list[Row]:
        """Extract and chunk the whole source once, a slice at a time, before anything is embedded
        or fanned out, and refuse it as soon as it passes INGEST_MAX_SOURCE_CHARS or
        INGEST_MAX_SOURCE_CHUNKS: a small upload must not keep the shared worker busy for minutes.
        The rows are kept (`keep`) when one slice will process them right away; a fanned-out source
        is extracted again by its slices (extraction is cheap next to embedding)."""
        max_chars, max_chunks = self._settings.ingest_max_source_chars, self._settings.ingest_max_source_chunks
        chars = chunks = 0
        kept: list[Row] = []
        step = self._settings.ingest_batch_documents
        for start in range(0, documents, step):
            for row in self._slices.extract_rows(source, bot, content, start, min(start + step, documents)):
                chars += len(row[1].text)
                chunks += len(row[2])
                if chars > max_chars:
                    raise PermanentIngestError(
                        f"the source's text is longer than {max_chars} characters; the limit is {max_chars} "
                        "characters per source (INGEST_MAX_SOURCE_CHARS)")
                if chunks > max_chunks:
                    raise PermanentIngestError(
                        f"the source makes more than {max_chunks} chunks; the limit is {max_chunks} chunks per "
                        "source (INGEST_MAX_SOURCE_CHUNKS)")
                if keep:
                    kept.append(row)
        return kept

    def _unchanged(self, source: Source, version: int, digest: str) -> bool:
        """A scheduled refresh that fetched the bytes the served version was built from: that version
        stays (no extraction, no embedding), the source is ready again with its counts."""
        if source.refresh_version != version or source.ready_version is None or source.content_sha256 != digest:
            return False
        with self._scope.write():
            row = source_rows.lock_source(self._scope, source.id)
            if row is None or row.version != version or not row.is_active or row.status not in IN_PROGRESS:
                return True  # superseded meanwhile: nothing to do
            assert row.ready_version is not None
            row.documents_done, row.chunks_total = source_rows.version_progress(self._scope, row.id, row.ready_version)
            row.documents_total = row.documents_done
            row.status = SourceStatus.ready
            row.finished_at = utcnow()
        logger.info("refresh found the content unchanged; the served version is kept",
                    extra={"source_id": str(source.id), "version": row.ready_version})
        if self._events is not None:
            self._events.source_finished(self._scope, source.id)
        return True

    def _set_totals(self, source_id: uuid.UUID, version: int, documents: int, batches: int,
                    plan: BatchPlan, digest: str) -> bool:
        with self._scope.write():
            source = source_rows.lock_source(self._scope, source_id)
            if source is None or source.version != version or not source.is_active or source.status not in IN_PROGRESS:
                return False
            source.documents_total = documents
            source.batches_total = batches
            source.planned_sha256 = digest
            source.skipped = plan.skipped or None  # bad JSON Lines lines, skipped zip members
            metadata = {k: v for k, v in (source.metadata_ or {}).items() if k != INGEST_WARNINGS}
            if plan.warnings:
                metadata[INGEST_WARNINGS] = plan.warnings[:100]
            if metadata != (source.metadata_ or {}):
                source.metadata_ = metadata
        return True

    # -- reading -----------------------------------------------------------------------------------
    def _read(self, source: Source) -> SourceBytes:
        if source.source_type is SourceType.text:
            return SourceBytes((source.content or "").encode("utf-8"), "content.md", "text/markdown")
        if source.source_type is SourceType.upload:
            if source.object_key is None:
                raise PermanentIngestError("the source has no uploaded file")
            data = self._storage.read(source.object_key)
            if len(data) > self._settings.upload_max_bytes:
                raise PermanentIngestError(f"the uploaded file exceeds {self._settings.upload_max_bytes} bytes")
            return SourceBytes(data, source.filename, source.content_type)
        fetch = self._fetcher
        if fetch is None:
            from minirag.documents.fetch import fetch_url as fetch
        fetched = fetch(source.url, max_bytes=self._settings.url_fetch_max_bytes,
                        timeout=self._settings.url_fetch_timeout_seconds,
                        allow_private=self._settings.url_fetch_allow_private)
        return SourceBytes(fetched.data, fetched.filename, fetched.content_type)

    # -- one slice -------------------------------------------------------------------------------
    def _process_batch(self, source: Source, bot: BotProfile, version: int, start: int, stop: int,
                       rows: list[Row] | None = None) -> None:
        """Read, extract, chunk (unless the plan did: `rows`), embed and index one slice (no
        transaction is open meanwhile), then record it."""

        if rows is None:
            rows = self._slices.extract_rows(source, bot, self._read(source), start, stop)
        # The dense vector sees the document title too (as the sparse one does): a chunk's title is
        # often the best summary of what it is about (+0.016 dense / +0.005 hybrid nDCG@10 on
        # SciFact *train*; bench/retrieval_eval.py).
        texts = [f"{doc.title}\n{c.text}" if doc.title else c.text for _, doc, chunks in rows for c in chunks]
        self._slices.check_quota(source.id, version, documents=len(rows), chunks=len(texts))

        if texts:
            vectors = self._slices.embed(source.id, bot, version, texts)
            if vectors is None:
                return  # the source was deleted or re-requested meanwhile: nothing was written
            self._slices.upsert(source, bot, version, rows, vectors)

        if self._slices.record_batch(source.id, bot, version, rows, len(texts)):
            if self._events is not None:
                self._events.source_finished(self._scope, source.id)
            self._retire_old_versions(source.id, bot, version)

    def _retire_old_versions(self, source_id: uuid.UUID, bot: BotProfile, version: int) -> None:
        """After the new version became visible: drop every other version's points and rows."""
        self._slices.delete_points(bot, source_id, keep_version=version)
        with self._scope.write():
            source_rows.delete_version_rows(self._scope, source_id, keep_version=version)

    # -- failure and purge ---------------------------------------------------------------------
    def _note_retry(self, message: IngestMessage, reason: str) -> None:
        """Show a retryable failure on the source (still in progress) while the queue retries. Best
        effort: the retry happens whether or not the note can be written (the DB may be down)."""
        if message.kind == "purge":
            return
        try:
            with self._scope.write():
                source = source_rows.lock_source(self._scope, message.source_id)
                if source is not None and source.version == message.version and source.status in IN_PROGRESS:
                    source.last_error = reason[:2000]
        except Exception:
            logger.warning("could not record the retry on the source", exc_info=True)

    def mark_failed(self, message: IngestMessage, reason: str) -> bool:
        """Fail this version once (a newer request, a finished version or a purge is left alone);
        its rows and points are removed (they were never visible: not the ready version). True
        when this call recorded the failure."""
        if message.kind == "purge":
            return False
        with self._scope.write():
            source = source_rows.lock_source(self._scope, message.source_id)
            if source is None or source.version != message.version or source.status not in IN_PROGRESS:
                return False
            source.status = SourceStatus.failed
            source.last_error = reason[:2000]
            source.finished_at = utcnow()
            source_rows.delete_version_rows(self._scope, source.id, version=message.version)
        metrics.add_metric(name="IngestSourcesFailed", unit="Count", value=1)
        if self._events is not None:
            self._events.source_finished(self._scope, source.id)
        with self._scope.read():
            bot = self._scope.find(BotProfile, source.bot_profile_id)
        if bot is not None:
            try:
                self._slices.delete_points(bot, source.id, version=message.version)
            except AppError:
                # Invisible leftovers: removed by the next successful ingest or the purge.
                logger.warning("could not remove partial vectors", extra={"source_id": str(source.id)})
        return True

    def _purge(self, message: IngestMessage) -> None:
        with self._scope.read():
            source = self._scope.find(Source, message.source_id)
            bot = self._scope.find(BotProfile, source.bot_profile_id) if source is not None else None
        if source is None or source.is_active:
            return  # gone, or re-activated: nothing to purge
        if bot is not None:
            self._slices.delete_points(bot, source.id)
        with self._scope.write():
            source_rows.delete_version_rows(self._scope, source.id)
        if source.object_key:
            self._storage.delete(source.object_key)
        with self._scope.write():  # last: a purge interrupted before here is found and finished later
            locked = source_rows.lock_source(self._scope, source.id)
            if locked is not None and not locked.is_active:
                locked.purged_at = utcnow()
        logger.info("source purged", extra={"source_id": str(source.id)})

    def purge(self, source_id: uuid.UUID) -> None:
        """Remove a deactivated source's vectors, rows and file now (`minirag purge-inactive`)."""
        with self._scope.read():
            source = self._scope.find(Source, source_id)
        if source is not None:
            self._purge(IngestMessage(tenant_id=self._scope.tenant_id, source_id=source_id,
                                      version=max(1, source.version), kind="purge"))
