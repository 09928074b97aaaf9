from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status

from minirag.api.deps import PageDep, ScopeDep, SettingsDep
from minirag.api.paging import PAGED_RESPONSES, paged_response
from minirag.api.schemas.common import Page
from minirag.api.schemas.sources import (
    DocumentPublic,
    SourceCreate,
    SourceCreated,
    SourcePublic,
    SourceUpdate,
    UploadInstructions,
    document_public,
    source_public,
)
from minirag.queue.publisher import get_publisher
from minirag.services.commands import CreateSource, ListPage, ListSources, UpdateSource
from minirag.services.sources import SourceService
from minirag.storage.uploads import get_storage

router = APIRouter(prefix="/v1/sources", tags=["sources"])


def get_source_service(scope: ScopeDep, settings: SettingsDep) -> SourceService:
    return SourceService(scope, settings, publisher=get_publisher(), storage=get_storage())


SourceServiceDep = Annotated[SourceService, Depends(get_source_service)]


def _upload(upload) -> dict | None:
    return None if upload is None else UploadInstructions.model_validate(upload, from_attributes=True).model_dump()


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SourceCreated)
def create_source(body: SourceCreate, service: SourceServiceDep) -> SourceCreated:
    """Create a text, URL or upload source. Upload sources answer with a presigned PUT (`upload`)."""
    source, upload = service.create(CreateSource(**body.model_dump()))
    return SourceCreated.model_validate(source_public(source, upload=_upload(upload)))


@router.get("", response_model=Page[SourcePublic])
def list_sources(
    service: SourceServiceDep,
    page: PageDep,
    bot_profile_id: Annotated[uuid.UUID | None, Query(description="only this bot's sources")] = None,
    status_filter: Annotated[Literal["pending", "queued", "processing", "ready", "failed"] | None,
                             Query(alias="status")] = None,
) -> Page[SourcePublic]:
    result = service.list(ListSources(limit=page.limit, cursor=page.cursor, bot_profile_id=bot_profile_id,
                                      status=status_filter))
    return Page[SourcePublic](data=[SourcePublic.model_validate(source_public(s)) for s in result.items],
                              next_cursor=result.next_cursor)


@router.get("/{id}", response_model=SourcePublic)
def get_source(id: uuid.UUID, service: SourceServiceDep) -> SourcePublic:
    return SourcePublic.model_validate(source_public(service.get(id)))


@router.patch("/{id}", response_model=SourcePublic)
def update_source(id: uuid.UUID, body: SourceUpdate, service: SourceServiceDep) -> SourcePublic:
    changed = service.update(id, UpdateSource(**body.model_dump(exclude_unset=True)))
    return SourcePublic.model_validate(source_public(changed))


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


@router.post("/{id}/ingest", status_code=status.HTTP_202_ACCEPTED, response_model=SourcePublic)
def ingest_source(id: uuid.UUID, service: SourceServiceDep) -> SourcePublic:
    """Queue (re-)ingestion; poll `GET /v1/sources/{id}` for status and progress."""
    return SourcePublic.model_validate(source_public(service.request_ingest(id)))


@router.get("/{id}/documents", response_model=list[DocumentPublic], responses=PAGED_RESPONSES)
def list_documents(id: uuid.UUID, request: Request, response: Response, service: SourceServiceDep,
                   page: PageDep) -> list[DocumentPublic]:
    """The documents retrieval serves for this source, in source order (empty before the first ready ingest)."""
    result = service.documents(id, ListPage(limit=page.limit, cursor=page.cursor))
    return paged_response(request, response, [document_public(d) for d in result.items], result.next_cursor)
