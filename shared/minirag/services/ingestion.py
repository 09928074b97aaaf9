"""The ingest pipeline behind the SQS consumer: read → extract → chunk → embed → index → record.

Message kinds (see `minirag.queue.messages`):
- `plan`: read the source once, count its documents; a small source is processed right here, a
  large batch (JSON Lines / zip) fans out one `batch` message per slice of documents, so each
  invocation stays well inside the function timeout and slices run in parallel.
- `batch`: process documents [start, stop) of one version.
- `purge`: the source was deactivated: remove its vectors, rows and uploaded file.

Delivery is at least once. Point, document and chunk ids are deterministic (uuid5 of source,
version and positions), so a redelivered or concurrently delivered message rewrites the same
points and finds its document rows already there; counters are recomputed from rows under a lock
on the source row, so exactly one worker sees the last slice land and flips the source to `ready`.
Retrieval serves only chunks whose (source, version) is the source's `ready_version`: a version
becomes visible in one commit, old versions are removed after it, and a failed version is never
visible.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update

from minirag.db.base import utcnow
from minirag.db.models import BotProfile, Chunk, Document, Source, SourceStatus, SourceType, UsageEvent, UsageKind
from minirag.db.scope import TenantScope
from minirag.errors import AppError, PermanentIngestError, UpstreamUnavailable
from minirag.observability import logger, metrics
from minirag.queue.messages import IngestMessage
from minirag.queue.publisher import IngestPublisher
from minirag.settings import Settings
from minirag.storage.uploads import UploadStorage
from minirag.vectorstore.store import (
    POINT_NAMESPACE,
    TenantVectorStore,
    VectorPoint,
    collection_name,
    collection_prefix,
    point_id,
)


def document_id(source_id: uuid.UUID, version: int, position: int) -> uuid.UUID:
    return uuid.uuid5(POINT_NAMESPACE, f"doc:{source_id}:{version}:{position}")


@dataclass
class SourceBytes:
    data: bytes
    filename: str | None
    content_type: str | None


class IngestionService:
    def __init__(self, scope: TenantScope, settings: Settings, *, gateway: Any, storage: UploadStorage,
                 publisher: IngestPublisher, fetcher: Any = None) -> None:
        self._scope = scope
        self._settings = settings
        self._gateway = gateway
        self._storage = storage
        self._publisher = publisher
        self._fetcher = fetcher

    # -- entry point -----------------------------------------------------------------------------
    def handle(self, message: IngestMessage) -> None:
        if message.kind == "purge":
            self.purge(message)
            return
        source = self._current_source(message)
        if source is None:
            logger.info("ingest message superseded or source gone; acknowledged",
                        extra={"source_id": str(message.source_id), "version": message.version})
            return
        if message.kind == "plan":
            self._plan(source, message)
        else:
            self._process_batch(source, message.version, message.start, message.stop)

    def _current_source(self, message: IngestMessage) -> Source | None:
        """The source if this message is still the live request for it (the tenant-scoped load is
        the only trust the message gets)."""
        source = self._scope.find(Source, message.source_id)
        if source is None or not source.is_active or source.version != message.version:
            return None
        if source.status in (SourceStatus.failed, SourceStatus.ready):
            return None  # this version already finished (e.g. a redelivery after success)
        return source

    # -- plan --------------------------------------------------------------------------------------
    def _plan(self, source: Source, message: IngestMessage) -> None:
        from minirag.ingest.extract import plan_batch

        if source.status is SourceStatus.queued:
            source.status = SourceStatus.processing
            source.started_at = utcnow()
        self._scope.commit()
        content = self._read(source)
        plan = plan_batch(content.data, filename=content.filename, content_type=content.content_type)
        if plan.count == 0:
            raise PermanentIngestError("the source contains no documents")
        batch = self._settings.ingest_batch_documents
        batches = math.ceil(plan.count / batch)
        self._set_totals(source, message.version, plan.count, batches, plan.warnings)
        if batches == 1:
            self._process_batch(source, message.version, 0, plan.count, content=content)
            return
        self._publisher.publish([
            IngestMessage(tenant_id=message.tenant_id, source_id=message.source_id, version=message.version,
                          kind="batch", start=start, stop=min(start + batch, plan.count))
            for start in range(0, plan.count, batch)
        ])
        logger.info("ingest fanned out", extra={"source_id": str(source.id), "documents": plan.count,
                                                  "batches": batches})

    def _set_totals(self, source: Source, version: int, documents: int, batches: int, warnings: list[str]) -> None:
        values: dict[str, Any] = {"documents_total": documents, "batches_total": batches}
        if warnings:
            values["metadata_"] = {**(source.metadata_ or {}), "ingest_warnings": warnings[:100]}
        self._scope.execute(update(Source).where(Source.id == source.id, Source.version == version).values(**values))
        self._scope.commit()

    # -- reading -----------------------------------------------------------------------------------
    def _read(self, source: Source) -> SourceBytes:
        if source.source_type is SourceType.text:
            return SourceBytes((source.content or "").encode("utf-8"), "content.md", "text/markdown")
        if source.source_type is SourceType.upload:
            assert source.object_key is not None
            data = self._storage.read(source.object_key)
            if len(data) > self._settings.upload_max_bytes:
                raise PermanentIngestError(f"the uploaded file exceeds {self._settings.upload_max_bytes} bytes")
            return SourceBytes(data, source.filename, source.content_type)
        fetch = self._fetcher
        if fetch is None:
            from minirag.ingest.fetch import fetch_url as fetch
        fetched = fetch(source.url, max_bytes=self._settings.url_fetch_max_bytes,
                        timeout=self._settings.url_fetch_timeout_seconds,
                        allow_private=self._settings.url_fetch_allow_private)
        return SourceBytes(fetched.data, fetched.filename, fetched.content_type)

    # -- one slice -------------------------------------------------------------------------------
    def _process_batch(self, source: Source, version: int, start: int, stop: int,
                       content: SourceBytes | None = None) -> None:
        from minirag.ingest.chunking import chunk_document
        from minirag.ingest.extract import extract_batch
        from minirag.retrieval.sparse import encode_document

        if source.status is SourceStatus.queued:
            source.status = SourceStatus.processing
            source.started_at = utcnow()
            self._scope.commit()
        bot = self._scope.get(BotProfile, source.bot_profile_id)
        self._scope.commit()  # end the read transaction: no lock is held while reading and embedding
        content = content or self._read(source)
        documents = extract_batch(content.data, filename=content.filename, content_type=content.content_type,
                                  start=start, stop=stop)

        rows: list[tuple[int, Any, list[Any]]] = []
        for offset, doc in enumerate(documents):
            if source.source_type is SourceType.text:
                doc.title = source.name  # a pasted text's first heading is not its title
            chunks = chunk_document(doc, chunk_tokens=bot.chunk_tokens, overlap_tokens=bot.chunk_overlap_tokens)
            rows.append((start + offset, doc, chunks))
        texts = [c.text for _, _, chunks in rows for c in chunks]

        points: list[VectorPoint] = []
        if texts:
            api_key = self._embedding_key(bot)
            vectors = self._gateway.embed(texts, model=bot.embedding_model, api_key=api_key)
            store = TenantVectorStore(
                collection_name(self._settings.qdrant_collection_prefix, bot.embedding_model, len(vectors[0])),
                self._scope.tenant_id,
            )
            store.ensure_collection(len(vectors[0]))
            i = 0
            for position, doc, chunks in rows:
                doc_id = document_id(source.id, version, position)
                for chunk in chunks:
                    sparse = encode_document(chunk.text if not doc.title else f"{doc.title}\n{chunk.text}")
                    pid = point_id(source.id, version, position, chunk.index)
                    points.append(VectorPoint(pid, vectors[i], sparse.indices, sparse.values, {
                        "bot_profile_id": str(source.bot_profile_id), "source_id": str(source.id),
                        "document_id": str(doc_id), "chunk_id": pid, "version": version,
                        "position": chunk.index, "text": chunk.text, "title": doc.title,
                        "external_id": doc.external_id, "heading": chunk.heading, "page": chunk.page,
                    }))
                    i += 1
            store.upsert(points)

        finished = self._record_batch(source.id, bot, version, rows, len(texts))
        if finished:
            self._retire_old_versions(source.id, bot, version)

    def _embedding_key(self, bot: BotProfile) -> str | None:
        if bot.embedding_model.startswith("local/"):
            return None
        if bot.provider_key_encrypted:
            from minirag.security.fernet import decrypt_secret

            return decrypt_secret(bot.provider_key_encrypted)
        key = self._settings.embedding_api_key
        return key.get_secret_value() if key else None

    def _record_batch(self, source_id: uuid.UUID, bot: BotProfile, version: int,
                      rows: list[tuple[int, Any, list[Any]]], chunk_count: int) -> bool:
        """Write document/chunk rows and progress under a lock on the source row; True when this
        commit completed the version (it is now the visible one)."""
        source = self._scope.get(Source, source_id, for_update=True)
        if source.version != version or not source.is_active or source.status is SourceStatus.failed:
            self._scope.rollback()
            return False
        existing = set(self._scope.scalars(
            select(Document.position).where(Document.tenant_id == self._scope.tenant_id,
                                            Document.source_id == source_id, Document.version == version,
                                            Document.position.in_([p for p, _, _ in rows]))
        ))
        tokens = 0
        for position, doc, chunks in rows:
            if position in existing:
                continue  # redelivered slice: these rows are already written
            doc_id = document_id(source_id, version, position)
            self._scope.add(Document(
                id=doc_id, source_id=source_id, bot_profile_id=bot.id, version=version, position=position,
                external_id=doc.external_id, title=doc.title, metadata_=doc.metadata or {},
                content_sha256=hashlib.sha256(doc.text.encode("utf-8")).hexdigest(), chunk_count=len(chunks),
            ))
            self._scope.flush()
            for chunk in chunks:
                tokens += chunk.token_count
                self._scope.add(Chunk(
                    id=uuid.UUID(point_id(source_id, version, position, chunk.index)), document_id=doc_id,
                    source_id=source_id, bot_profile_id=bot.id, version=version, position=chunk.index,
                    text=chunk.text, token_count=chunk.token_count, heading=chunk.heading, page=chunk.page,
                ))
        if tokens:
            self._scope.add(UsageEvent(id=uuid.uuid4(), kind=UsageKind.embedding, model=bot.embedding_model,
                                       bot_profile_id=bot.id, source_id=source_id, prompt_tokens=tokens,
                                       total_tokens=tokens))
        self._scope.flush()
        docs_done, chunks_done = self._scope.execute(
            select(func.count(Document.id), func.coalesce(func.sum(Document.chunk_count), 0))
            .where(Document.tenant_id == self._scope.tenant_id, Document.source_id == source_id,
                   Document.version == version)
        ).one()
        source.documents_done = int(docs_done)
        source.chunks_total = int(chunks_done)
        source.batches_done = min(source.batches_total, source.batches_done + (0 if not rows or rows[0][0] in existing else 1))
        finished = source.documents_total > 0 and source.documents_done >= source.documents_total
        if finished:
            source.status = SourceStatus.ready
            source.ready_version = version
            source.finished_at = utcnow()
            source.batches_done = source.batches_total
        self._scope.commit()
        metrics.add_metric(name="IngestChunksWritten", unit="Count", value=chunk_count)
        if finished:
            metrics.add_metric(name="IngestSourcesReady", unit="Count", value=1)
            logger.info("source ready", extra={"source_id": str(source_id), "version": version,
                                               "documents": source.documents_done, "chunks": source.chunks_total})
        return finished

    def _retire_old_versions(self, source_id: uuid.UUID, bot: BotProfile, version: int) -> None:
        """After the new version became visible: drop every other version's points and rows."""
        for name in self._collections(bot):
            TenantVectorStore(name, self._scope.tenant_id).delete_source(source_id, keep_version=version)
        self._delete_rows(source_id, keep_version=version)

    def _collections(self, bot: BotProfile) -> list[str]:
        from minirag.vectorstore.client import get_client, vector_lock

        prefix = collection_prefix(self._settings.qdrant_collection_prefix, bot.embedding_model)
        try:
            with vector_lock():
                names = [c.name for c in get_client().get_collections().collections]
        except Exception as exc:
            raise UpstreamUnavailable("the vector store is unavailable; try again") from exc
        return [n for n in names if n.startswith(prefix)]

    def _delete_rows(self, source_id: uuid.UUID, *, keep_version: int | None) -> None:
        doc_filter = [Document.tenant_id == self._scope.tenant_id, Document.source_id == source_id]
        chunk_filter = [Chunk.tenant_id == self._scope.tenant_id, Chunk.source_id == source_id]
        if keep_version is not None:
            doc_filter.append(Document.version != keep_version)
            chunk_filter.append(Chunk.version != keep_version)
        self._scope.execute(delete(Chunk).where(*chunk_filter))
        self._scope.execute(delete(Document).where(*doc_filter))
        self._scope.commit()

    # -- failure and purge ---------------------------------------------------------------------
    def mark_failed(self, message: IngestMessage, reason: str) -> None:
        """Record a failure for this version only (a newer request is left alone); its partial
        points are removed, and they were never visible (not the ready version)."""
        self._scope.rollback()
        result = self._scope.execute(
            update(Source)
            .where(Source.tenant_id == self._scope.tenant_id, Source.id == message.source_id,
                   Source.version == message.version, Source.status != SourceStatus.ready)
            .values(status=SourceStatus.failed, last_error=reason[:2000], finished_at=utcnow())
        )
        self._scope.commit()
        if result.rowcount:
            metrics.add_metric(name="IngestSourcesFailed", unit="Count", value=1)
            source = self._scope.find(Source, message.source_id)
            bot = self._scope.find(BotProfile, source.bot_profile_id) if source else None
            if bot is not None:
                try:
                    for name in self._collections(bot):
                        TenantVectorStore(name, self._scope.tenant_id).delete_source(message.source_id,
                                                                                     version=message.version)
                except AppError:
                    logger.warning("could not remove partial vectors", extra={"source_id": str(message.source_id)})

    def purge(self, message: IngestMessage) -> None:
        source = self._scope.find(Source, message.source_id)
        if source is None or source.is_active:
            return  # gone, or re-activated: nothing to purge
        bot = self._scope.find(BotProfile, source.bot_profile_id)
        if bot is not None:
            for name in self._collections(bot):
                TenantVectorStore(name, self._scope.tenant_id).delete_source(source.id)
        self._delete_rows(source.id, keep_version=None)
        if source.object_key:
            self._storage.delete(source.object_key)
        logger.info("source purged", extra={"source_id": str(source.id)})
