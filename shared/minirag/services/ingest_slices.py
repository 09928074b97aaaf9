"""One slice of an ingest: extract and chunk documents [start, stop), embed them, index the
points and record the document/chunk rows with the version's recounted progress.

`IngestionService` (services/ingestion.py) orchestrates: it plans, reads the bytes, decides when a
version is ready or failed and retires old versions; this module does the per-slice work, so the
orchestration stays readable and its ready/failed points stay in one place.
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
from minirag.errors import PermanentIngestError, RateLimited
from minirag.llm.ports import ModelGateway
from minirag.observability import logger, metrics
from minirag.services.provider_keys import embedding_api_key
from minirag.services.quotas import count_spent, tenant_quota
from minirag.settings import Settings
from minirag.vectorstore.indexes import VectorIndexes
from minirag.vectorstore.store import POINT_NAMESPACE, VectorPoint, point_id

INGEST_WARNINGS = "ingest_warnings"  # the key of the planner's notes in a source's metadata (not the tenant's)

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


def file_type(filename: str | None, source_type: str) -> str:
    """The filterable kind of a document: its file's extension ("pdf", "md", ...), else the source's
    type ("text", "url")."""
    if filename and "." in filename.rsplit("/", 1)[-1]:
        return filename.rsplit(".", 1)[-1].lower()[:16]
    return source_type


@dataclass
class SourceBytes:
    data: bytes
    filename: str | None
    content_type: str | None


class SlicePipeline:
    """The per-slice steps, sharing the service's scope and ports."""

    def __init__(self, scope: TenantScope, settings: Settings, *, gateway: ModelGateway,
                 indexes: VectorIndexes) -> None:
        self._scope = scope
        self._settings = settings
        self._gateway = gateway
        self._indexes = indexes

    def zip_limits(self) -> ZipLimits:
        from minirag.documents.archives import ZipLimits

        return ZipLimits(max_ratio=self._settings.ingest_max_expansion_ratio)

    def extract_rows(self, source: Source, bot: BotProfile, content: SourceBytes, start: int, stop: int) -> list[Row]:
        """Documents [start, stop) extracted and chunked, as (position, document, chunks)."""
        from minirag.documents.chunking import chunk_document
        from minirag.documents.extract import extract_batch

        documents = extract_batch(content.data, filename=content.filename, content_type=content.content_type,
                                  start=start, stop=stop, zip_limits=self.zip_limits())
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


    def check_quota(self, source_id: uuid.UUID, version: int, *, documents: int, chunks: int) -> None:
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

    def upsert(self, source: Source, bot: BotProfile, version: int, rows: list[tuple[int, Any, list[Any]]],
                vectors: list[list[float]]) -> None:
        from minirag.vectorstore.sparse import encode_document

        store = self._indexes.for_model(self._scope.tenant_id, bot.embedding_model, len(vectors[0]))
        store.ensure_collection(len(vectors[0]))
        points: list[VectorPoint] = []
        vector_iter = iter(vectors)
        # The tenant's own metadata only: `ingest_warnings` is the platform's note on the source.
        source_metadata = {k: v for k, v in (source.metadata_ or {}).items() if k != INGEST_WARNINGS}
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
                    # What filters match on (vectorstore/filters.py): the document's metadata over the source's.
                    "metadata": {**source_metadata, **(doc.metadata or {})},
                    "file_type": file_type(doc.filename or source.filename, source.source_type.value),
                }))
        store.upsert(points)

    def embed(self, source_id: uuid.UUID, bot: BotProfile, version: int,
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
                                           api_key=api_key, input_type="document")
        return vectors

    def _still_wanted(self, source_id: uuid.UUID, version: int) -> bool:
        with self._scope.read():
            return source_rows.version_wanted(self._scope, source_id, version, IN_PROGRESS)

    def record_batch(self, source_id: uuid.UUID, bot: BotProfile, version: int,
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
                self.delete_points(bot, source_id, version=version)  # what this late writer upserted
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
            source.document_count = source.documents_done  # of the visible version
            source.content_sha256 = source.planned_sha256  # what a refresh compares with
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


    def delete_points(self, bot: BotProfile, source_id: uuid.UUID, *, version: int | None = None,
                       keep_version: int | None = None) -> None:
        """A source's points in every collection of the bot's model: all, one version, or all but one."""
        for store in self._indexes.all_for_model(self._scope.tenant_id, bot.embedding_model):
            store.delete_source(source_id, version=version, keep_version=keep_version)
