from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile, status

from minirag.api.deps import IncludeInactive, PageDep, ScopeDep, SettingsDep
from minirag.api.paging import PAGED_RESPONSES, paged_response
from minirag.api.schemas.source_batches import BatchCreate, BatchCreated, ChildrenIngestAccepted
from minirag.api.schemas.sources import (
    DocumentPublic,
    SourceCreate,
    SourceCreated,
    SourceIngestAccepted,
    SourcePublic,
    SourceStatusName,
    SourceUpdate,
    SourceUploaded,
    UploadInstructions,
    document_public,
    parse_form_metadata,
    source_public,
)
from minirag.errors import InvalidInput
from minirag.queue.publisher import get_publisher
from minirag.services.commands import (
    BatchChild,
    CreateBatch,
    CreateSource,
    ListPage,
    ListSources,
    UpdateSource,
    UploadSource,
)
from minirag.services.source_batches import SourceBatchService
from minirag.services.sources import SourceService
from minirag.storage.uploads import get_storage

router = APIRouter(prefix="/v1/sources", tags=["sources"])


def get_source_service(scope: ScopeDep, settings: SettingsDep) -> SourceService:
    return SourceService(scope, settings, publisher=get_publisher(), storage=get_storage())


SourceServiceDep = Annotated[SourceService, Depends(get_source_service)]


def get_batch_service(scope: ScopeDep, settings: SettingsDep, sources: SourceServiceDep) -> SourceBatchService:
    return SourceBatchService(scope, settings, sources=sources)


BatchServiceDep = Annotated[SourceBatchService, Depends(get_batch_service)]


def _public(sources: list, batches: SourceBatchService) -> list[SourcePublic]:
    """Sources as shown: a batch parent with its children's aggregated status and chunk count."""
    views = batches.parent_views(sources)
    out = []
    for source in sources:
        view = views.get(source.id)
        extra = {} if view is None else {"status": view.status, "chunk_count": view.chunk_count,
                                         "last_error": view.last_error, "needs_ingest": view.status == "pending"}
        out.append(SourcePublic.model_validate(source_public(source, **extra)))
    return out


def _upload(upload) -> dict | None:
    return None if upload is None else UploadInstructions.model_validate(upload, from_attributes=True).model_dump()


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SourceCreated)
def create_source(body: SourceCreate, service: SourceServiceDep) -> SourceCreated:
    """Create a text, URL or upload source (`status: pending` until ingested). Upload sources answer
    with a presigned PUT (`upload`). A `bot_profile_id` that is not the caller's bot is a 422."""
    source, upload = service.create(CreateSource(**body.model_dump(exclude={"config"})))
    return SourceCreated.model_validate(source_public(source, upload=_upload(upload)))


@router.post("/upload", status_code=status.HTTP_201_CREATED, response_model=SourceUploaded)
def upload_source(
    service: SourceServiceDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="The file (type by its name's extension)")],
    bot_profile_id: Annotated[uuid.UUID, Form()],
    name: Annotated[str | None, Form(min_length=1, max_length=200, description="default: the file name")] = None,
    metadata: Annotated[str | None, Form(description="a JSON object, as text")] = None,
) -> SourceUploaded:
    """Create an upload source from a file sent in this request (multipart/form-data), then ingest it
    with `POST /v1/sources/{id}/ingest`. The file travels base64 inside the Lambda event, whose
    synchronous limit is 6 MB: files up to UPLOAD_DIRECT_MAX_BYTES (4.5 MB by default) go here, larger
    ones through `POST /v1/sources` with `source_type: upload` and its presigned PUT (413 names `file`)."""
    filename = (file.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not filename or "\x00" in filename or len(filename) > 255:
        raise InvalidInput("file", "the file part needs a file name of 1 to 255 characters (its type comes from it)")
    data = file.file.read(settings.upload_direct_max_bytes + 1)
    source = service.upload(UploadSource(bot_profile_id=bot_profile_id, name=name or filename[:200],
                                         filename=filename, data=data, metadata=parse_form_metadata(metadata)))
    return SourceUploaded.model_validate(source_public(
        source, config={"original_filename": source.filename, "file_size": source.file_size}))


@router.get("", response_model=list[SourcePublic], responses=PAGED_RESPONSES)
def list_sources(
    request: Request,
    response: Response,
    service: SourceServiceDep,
    batches: BatchServiceDep,
    page: PageDep,
    bot_profile_id: Annotated[uuid.UUID | None, Query(description="only this bot's sources")] = None,
    status_filter: Annotated[SourceStatusName | None, Query(alias="status")] = None,
    include_inactive: IncludeInactive = False,
    include_children: Annotated[bool, Query(description="also list batch children (else under their parent)")] = False,
) -> list[SourcePublic]:
    """The tenant's sources, newest first; deactivated ones only with `include_inactive=true`, batch
    children only with `include_children=true` (`GET /v1/sources/{id}/children` lists a batch's)."""
    result = service.list(ListSources(limit=page.limit, cursor=page.cursor, bot_profile_id=bot_profile_id,
                                      status=status_filter, include_inactive=include_inactive,
                                      include_children=include_children))
    return paged_response(request, response, _public(result.items, batches), result.next_cursor)


@router.post("/batch", status_code=status.HTTP_201_CREATED, response_model=BatchCreated)
def create_batch(body: BatchCreate, batches: BatchServiceDep) -> BatchCreated:
    """A batch: a parent source and its children (all text or all URL), created together or not at
    all. Ingest them with `POST /v1/sources/{id}/ingest-children`; the parent's status is theirs."""
    parent, children = batches.create(CreateBatch(
        bot_profile_id=body.bot_profile_id, name=body.name, description=body.description,
        source_type=body.source_type, metadata=body.metadata,
        children=tuple(BatchChild(name=c.name, url=c.url, content=c.content, description=c.description,
                                  metadata=c.metadata) for c in body.children)))
    [shown_parent] = _public([parent], batches)
    return BatchCreated(parent=shown_parent, children=_public(children, batches))


@router.get("/{id}", response_model=SourcePublic)
def get_source(id: uuid.UUID, service: SourceServiceDep, batches: BatchServiceDep) -> SourcePublic:
    """The source, deactivated or not (`is_active`); a batch parent shows its children's status."""
    [shown] = _public([service.get(id)], batches)
    return shown


@router.patch("/{id}", response_model=SourcePublic)
def update_source(id: uuid.UUID, body: SourceUpdate, service: SourceServiceDep) -> SourcePublic:
    """Change fields; `is_active` deactivates (as DELETE) or reactivates (then ingest it again:
    the answer says so in `needs_ingest` and `message`)."""
    changed = service.update(id, UpdateSource(**body.model_dump(exclude_unset=True, exclude={"config"})))
    return SourcePublic.model_validate(source_public(changed.source, message=changed.message))


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def deactivate_source(id: uuid.UUID, service: SourceServiceDep) -> Response:
    """Soft delete: the source stops being served at once; its vectors and chunks are purged."""
    service.deactivate(id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{id}/upload-url", response_model=UploadInstructions)
def create_upload_url(id: uuid.UUID, service: SourceServiceDep) -> UploadInstructions:
    """A fresh presigned PUT for an upload source (e.g. when the first one expired)."""
    _, upload = service.upload_url(id)
    return UploadInstructions.model_validate(_upload(upload))


@router.post("/{id}/ingest", status_code=status.HTTP_202_ACCEPTED, response_model=SourceIngestAccepted)
def ingest_source(id: uuid.UUID, service: SourceServiceDep) -> SourceIngestAccepted:
    """Queue (re-)ingestion: 202 `{status: "queued", message}` with the source's fields; poll
    `GET /v1/sources/{id}` for status and progress. A deactivated source is a 409 (reactivate it first)."""
    source = service.request_ingest(id)
    return SourceIngestAccepted.model_validate(source_public(
        source, message=f"ingestion queued; poll GET /v1/sources/{source.id} for its status"))


@router.get("/{id}/documents", response_model=list[DocumentPublic], responses=PAGED_RESPONSES)
def list_documents(id: uuid.UUID, request: Request, response: Response, service: SourceServiceDep,
                   page: PageDep) -> list[DocumentPublic]:
    """The documents retrieval serves for this source, in source order (empty before the first ready ingest)."""
    result = service.documents(id, ListPage(limit=page.limit, cursor=page.cursor))
    return paged_response(request, response, [document_public(d) for d in result.items], result.next_cursor)


@router.get("/{id}/children", response_model=list[SourcePublic], responses=PAGED_RESPONSES)
def list_children(id: uuid.UUID, request: Request, response: Response, page: PageDep, batches: BatchServiceDep,
                  include_inactive: IncludeInactive = False) -> list[SourcePublic]:
    """A batch's children, in the order they were given."""
    result = batches.children(id, ListPage(limit=page.limit, cursor=page.cursor), include_inactive=include_inactive)
    return paged_response(request, response, _public(result.items, batches), result.next_cursor)


@router.post("/{id}/ingest-children", status_code=status.HTTP_202_ACCEPTED, response_model=ChildrenIngestAccepted)
def ingest_children(id: uuid.UUID, batches: BatchServiceDep) -> ChildrenIngestAccepted:
    """Queue every active child's ingest; poll the parent (or its children) for their status."""
    enqueued = batches.ingest_children(id)
    return ChildrenIngestAccepted(enqueued=enqueued, message=f"{enqueued} children queued for ingestion; poll "
                                                              f"GET /v1/sources/{id} for the batch's status")
