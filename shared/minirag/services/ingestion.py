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
import math
import posixpath
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from minirag.db import quota_rows, source_rows
from minirag.db.base import utcnow
from minirag.db.models import BotProfile, Chunk, Document, Source, SourceStatus, SourceType, UsageEvent, UsageKind
from minirag.db.scope import TenantScope
from minirag.documents.sections import ExtractedDocument
from minirag.errors import AppError, PermanentIngestError, RateLimited
from minirag.llm.ports import ModelGateway
from minirag.observability import logger, metrics
from minirag.queue.messages import IngestMessage
from minirag.queue.publisher import IngestPublisher
from minirag.services.provider_keys import embedding_api_key
from minirag.services.quotas import count_spent, tenant_quota
from minirag.services.webhook_events import WebhookEvents
from minirag.settings import Settings
from minirag.storage.uploads import UploadStorage
from minirag.vectorstore.indexes import VectorIndexes
from minirag.vectorstore.store import POINT_NAMESPACE, VectorPoint, point_id

if TYPE_CHECKING:
    from minirag.documents.archives import ZipLimits

IN_PROGRESS = (SourceStatus.queued, SourceStatus.processing)
MAX_EXTERNAL_ID = 512  # column sizes (db/models.py): PostgreSQL refuses longer values
MAX_TITLE = 1024
MAX_HEADING = 1024
EMBED_BATCH = 64  # texts per embedding call; the worker checks between calls that the source is still wanted


def document_id(source_id: uuid.UUID, version: int, position: int) -> uuid.UUID:
    return uuid.uuid5(POINT_NAMESPACE, f"doc:{source_id}:{version}:{position}")


def plan_slices(documents: int, per_batch: int) -> list[tuple[int, int]]:
    """Balanced [start, stop) slices of at most `per_batch` documents: `ceil(N / batches)` each, so
    the slice size can be recomputed from (documents_total, batches_total) alone."""
    if documents <= 0:
        return []
    size = slice_size(documents, math.ceil(documents / per_batch))
    return [(start, min(start + size, documents)) for start in range(0, documents, size)]


def slice_size(documents_total: int, batches_total: int) -> int:
    return max(1, math.ceil(documents_total / max(1, batches_total)))



def citation_title(doc: ExtractedDocument, source: Source) -> str | None:
    """What a citation calls a document: what the user named. A pasted text is the source's name (its
    first heading is not its title); a file's own title (PDF/DOCX metadata, HTML <title>, first
    heading) comes first, then a zip member's own file name, then the name the source was given,
    then the file name."""
    if source.source_type is SourceType.text:
        return source.name
    if doc.title:
        return doc.title
    own_file = posixpath.basename(source.filename or "")
    if doc.filename and doc.filename != own_file:
        return doc.filename
    return source.name or doc.filename

Row = tuple[int, ExtractedDocument, list[Any]]  # (position, document, its chunks)


@dataclass
class SourceBytes:
    data: bytes
    filename: str | None
    content_type: str | None


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
        plan = plan_batch(content.data, filename=content.filename, content_type=content.content_type,
                          zip_limits=self._zip_limits())
        if plan.count == 0:
            raise PermanentIngestError("the source contains no documents")
        slices = plan_slices(plan.count, self._settings.ingest_batch_documents)
        rows = self._measure(source, bot, content, plan.count, keep=len(slices) == 1)
        if not self._set_totals(source.id, message.version, plan.count, len(slices), plan.warnings):
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
            for row in self._extract_rows(source, bot, content, start, min(start + step, documents)):
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

    def _zip_limits(self) -> ZipLimits:
        from minirag.documents.archives import ZipLimits

        return ZipLimits(max_ratio=self._settings.ingest_max_expansion_ratio)

    def _set_totals(self, source_id: uuid.UUID, version: int, documents: int, batches: int,
                    warnings: list[str]) -> bool:
        with self._scope.write():
            source = source_rows.lock_source(self._scope, source_id)
            if source is None or source.version != version or not source.is_active or source.status not in IN_PROGRESS:
                return False
            source.documents_total = documents
            source.batches_total = batches
            metadata = {k: v for k, v in (source.metadata_ or {}).items() if k != "ingest_warnings"}
            if warnings:
                metadata["ingest_warnings"] = warnings[:100]
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

    def _extract_rows(self, source: Source, bot: BotProfile, content: SourceBytes, start: int, stop: int) -> list[Row]:
        """Documents [start, stop) extracted and chunked, as (position, document, chunks)."""
        from minirag.documents.chunking import chunk_document
        from minirag.documents.extract import extract_batch

        documents = extract_batch(content.data, filename=content.filename, content_type=content.content_type,
                                  start=start, stop=stop, zip_limits=self._zip_limits())
        if len(documents) != stop - start:
            # The slices were planned on another copy of the file (re-uploaded while ingesting).
            raise PermanentIngestError("the file changed while it was being ingested; ingest it again")
        rows: list[Row] = []
        for offset, doc in enumerate(documents):
            position = start + offset
            if source.source_type is SourceType.text:
                doc.filename = None  # converted as a Markdown file, but a pasted text has no file
            doc.title = citation_title(doc, source)
            if doc.external_id is not None and len(doc.external_id) > MAX_EXTERNAL_ID:
                raise PermanentIngestError(f"document {position + 1}: 'id' is longer than {MAX_EXTERNAL_ID} characters")
            doc.title = doc.title[:MAX_TITLE] if doc.title else doc.title
            chunks = chunk_document(doc, chunk_tokens=bot.chunk_tokens, overlap_tokens=bot.chunk_overlap_tokens)
            for chunk in chunks:
                chunk.heading = chunk.heading[:MAX_HEADING] if chunk.heading else chunk.heading
            rows.append((position, doc, chunks))
        return rows

    # -- one slice -------------------------------------------------------------------------------
    def _process_batch(self, source: Source, bot: BotProfile, version: int, start: int, stop: int,
                       rows: list[Row] | None = None) -> None:
        """Read, extract, chunk (unless the plan did: `rows`), embed and index one slice (no
        transaction is open meanwhile), then record it."""

        if rows is None:
            rows = self._extract_rows(source, bot, self._read(source), start, stop)
        # The dense vector sees the document title too (as the sparse one does): a chunk's title is
        # often the best summary of what it is about (+0.016 dense / +0.005 hybrid nDCG@10 on
        # SciFact *train*; bench/retrieval_eval.py).
        texts = [f"{doc.title}\n{c.text}" if doc.title else c.text for _, doc, chunks in rows for c in chunks]
        self._check_quota(source.id, version, documents=len(rows), chunks=len(texts))

        if texts:
            vectors = self._embed(source.id, bot, version, texts)
            if vectors is None:
                return  # the source was deleted or re-requested meanwhile: nothing was written
            self._upsert(source, bot, version, rows, vectors)

        if self._record_batch(source.id, bot, version, rows, len(texts)):
            if self._events is not None:
                self._events.source_finished(self._scope, source.id)
            self._retire_old_versions(source.id, bot, version)

    def _check_quota(self, source_id: uuid.UUID, version: int, *, documents: int, chunks: int) -> None:
        """Before anything is embedded: the slice must fit the tenant's documents and chunks per day
        and its stored chunks (this source's other versions do not count: they go when this one is
        ready). Past a limit the version fails with the limit's reason: retrying cannot help today.
        Concurrent slices may each pass and together overshoot by at most the slices in flight."""
        try:
            with self._scope.read():
                quota = tenant_quota(self._scope, self._settings)
                quota.require_room("ingest_documents_per_day", documents)
                quota.require_room("ingest_chunks_per_day", chunks)
                stored = quota_rows.stored_chunks(self._scope, replacing=(source_id, version))
                quota.require_count_below("stored_chunks", stored, adding=chunks)
        except RateLimited as exc:
            reason = exc.details[0]["reason"] if exc.details else exc.message
            raise PermanentIngestError(f"{exc.message}: {reason}; nothing of this version was kept") from None

    def _upsert(self, source: Source, bot: BotProfile, version: int, rows: list[tuple[int, Any, list[Any]]],
                vectors: list[list[float]]) -> None:
        from minirag.vectorstore.sparse import encode_document

        store = self._indexes.for_model(self._scope.tenant_id, bot.embedding_model, len(vectors[0]))
        store.ensure_collection(len(vectors[0]))
        points: list[VectorPoint] = []
        vector_iter = iter(vectors)
        for position, doc, chunks in rows:
            doc_id = document_id(source.id, version, position)
            for chunk in chunks:
                sparse = encode_document(chunk.text if not doc.title else f"{doc.title}\n{chunk.text}")
                pid = point_id(source.id, version, position, chunk.index)
                points.append(VectorPoint(pid, next(vector_iter), sparse.indices, sparse.values, {
                    "bot_profile_id": str(source.bot_profile_id), "source_id": str(source.id),
                    "document_id": str(doc_id), "chunk_id": pid, "version": version,
                    "position": chunk.index, "text": chunk.text, "title": doc.title, "filename": doc.filename,
                    "external_id": doc.external_id, "heading": chunk.heading, "page": chunk.page,
                }))
        store.upsert(points)

    def _embed(self, source_id: uuid.UUID, bot: BotProfile, version: int,
               texts: list[str]) -> list[list[float]] | None:
        """Embed in batches of EMBED_BATCH texts, checking before each one after the first that the
        version is still wanted: a deleted (or superseded, failed) source stops within one batch
        instead of embedding the rest and throwing it away. None when it stopped."""
        api_key = embedding_api_key(bot)
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            if start and not self._still_wanted(source_id, version):
                logger.info("ingest cancelled: the source was deleted or superseded",
                            extra={"source_id": str(source_id), "version": version,
                                   "embedded": start, "texts": len(texts)})
                metrics.add_metric(name="IngestCancelled", unit="Count", value=1)
                return None
            vectors += self._gateway.embed(texts[start:start + EMBED_BATCH], model=bot.embedding_model,
                                           api_key=api_key)
        return vectors

    def _still_wanted(self, source_id: uuid.UUID, version: int) -> bool:
        with self._scope.read():
            return source_rows.version_wanted(self._scope, source_id, version, IN_PROGRESS)

    def _record_batch(self, source_id: uuid.UUID, bot: BotProfile, version: int,
                      rows: list[tuple[int, Any, list[Any]]], chunk_count: int) -> bool:
        """Write document/chunk rows and progress under a lock on the source row; True when this
        commit completed the version (it is now the visible one)."""
        with self._scope.write():
            source = source_rows.lock_source(self._scope, source_id)
            if source is None or source.version != version or not source.is_active or source.status not in IN_PROGRESS:
                # Gone, failed, superseded, deactivated, or already completed by a duplicate delivery.
                late_writer = source is None or source.ready_version != version
                progress = None
            else:
                finished = self._write_rows(source, bot, version, rows)
                progress = (source.documents_done, source.chunks_total)
        if progress is None:
            if late_writer:
                self._delete_points(bot, source_id, version=version)  # what this late writer upserted
            return False
        metrics.add_metric(name="IngestChunksWritten", unit="Count", value=chunk_count)
        if finished:
            metrics.add_metric(name="IngestSourcesReady", unit="Count", value=1)
            logger.info("source ready", extra={"source_id": str(source_id), "version": version,
                                               "documents": progress[0], "chunks": progress[1]})
        return finished

    def _write_rows(self, source: Source, bot: BotProfile, version: int,
                    rows: list[tuple[int, Any, list[Any]]]) -> bool:
        """The slice's rows (those not there yet) and the version's recounted progress; True when
        the version is complete (then it becomes the visible one). Inside the caller's write()."""
        source_id = source.id
        existing = source_rows.existing_positions(self._scope, source_id, version, [p for p, _, _ in rows])
        new_rows = [row for row in rows if row[0] not in existing]  # a redelivered slice has none
        for position, doc, chunks in new_rows:
            self._scope.add(Document(
                id=document_id(source_id, version, position), source_id=source_id, bot_profile_id=bot.id,
                version=version, position=position, external_id=doc.external_id, title=doc.title,
                metadata_=doc.metadata or {}, content_sha256=hashlib.sha256(doc.text.encode("utf-8")).hexdigest(),
                chunk_count=len(chunks),
            ))
        self._scope.flush()  # documents first (chunks reference them), each kind in one batched INSERT
        tokens = 0
        for position, _, chunks in new_rows:
            for chunk in chunks:
                tokens += chunk.token_count
                self._scope.add(Chunk(
                    id=uuid.UUID(point_id(source_id, version, position, chunk.index)),
                    document_id=document_id(source_id, version, position), source_id=source_id,
                    bot_profile_id=bot.id, version=version, position=chunk.index, text=chunk.text,
                    token_count=chunk.token_count, heading=chunk.heading, page=chunk.page,
                ))
        count_spent(self._scope, "ingest_documents_per_day", len(new_rows))
        count_spent(self._scope, "ingest_chunks_per_day", sum(len(chunks) for _, _, chunks in new_rows))
        if tokens:
            self._scope.add(UsageEvent(id=uuid.uuid4(), kind=UsageKind.embedding, model=bot.embedding_model,
                                       bot_profile_id=bot.id, source_id=source_id, prompt_tokens=tokens,
                                       total_tokens=tokens))
        self._scope.flush()
        source.documents_done, source.chunks_total = source_rows.version_progress(self._scope, source_id, version)
        source.batches_done = self._slices_done(source, version)
        finished = source.documents_total > 0 and source.documents_done >= source.documents_total
        if finished:
            source.status = SourceStatus.ready
            source.ready_version = version
            source.finished_at = utcnow()
            source.last_error = None  # a retried attempt's note is history now
        return finished

    def _slices_done(self, source: Source, version: int) -> int:
        """How many of the planned slices have all their document rows (see `plan_slices`)."""
        if source.documents_total <= 0 or source.batches_total <= 0:
            return 0
        return source_rows.complete_slices(self._scope, source.id, version,
                                           size=slice_size(source.documents_total, source.batches_total),
                                           documents_total=source.documents_total)

    def _retire_old_versions(self, source_id: uuid.UUID, bot: BotProfile, version: int) -> None:
        """After the new version became visible: drop every other version's points and rows."""
        self._delete_points(bot, source_id, keep_version=version)
        with self._scope.write():
            source_rows.delete_version_rows(self._scope, source_id, keep_version=version)

    def _delete_points(self, bot: BotProfile, source_id: uuid.UUID, *, version: int | None = None,
                       keep_version: int | None = None) -> None:
        """A source's points in every collection of the bot's model: all, one version, or all but one."""
        for store in self._indexes.all_for_model(self._scope.tenant_id, bot.embedding_model):
            store.delete_source(source_id, version=version, keep_version=keep_version)

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
                self._delete_points(bot, source.id, version=message.version)
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
            self._delete_points(bot, source.id)
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
