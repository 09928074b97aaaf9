from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from minirag.api.deps import IncludeInactive, PageDep, ScopeDep, SettingsDep
from minirag.api.paging import PAGED_RESPONSES, paged_response
from minirag.api.schemas.sources import (
    SourceCreate,
    SourceCreated,
    SourceIngestAccepted,
    SourcePublic,
    SourceStatusName,
    SourceUpdate,
    UploadInstructions,
    source_public,
)
from minirag.queue.publisher import get_publisher
from minirag.services.commands import CreateSource, ListSources, UpdateSource
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
    """Create a text, URL or upload source (`status: pending` until ingested). Upload sources answer
    with a presigned PUT (`upload`). A `bot_profile_id` that is not the caller's bot is a 422."""
    source, upload = service.create(CreateSource(**body.model_dump(exclude={"config"})))
    return SourceCreated.model_validate(source_public(source, upload=_upload(upload)))


@router.get("", response_model=list[SourcePublic], responses=PAGED_RESPONSES)
def list_sources(
    request: Request,
    response: Response,
    service: SourceServiceDep,
    page: PageDep,
    bot_profile_id: Annotated[uuid.UUID | None, Query(description="only this bot's sources")] = None,
    status_filter: Annotated[SourceStatusName | None, Query(alias="status")] = None,
    include_inactive: IncludeInactive = False,
) -> list[SourcePublic]:
    """The tenant's sources, newest first; deactivated ones only with `include_inactive=true`."""
    result = service.list(ListSources(limit=page.limit, cursor=page.cursor, bot_profile_id=bot_profile_id,
                                      status=status_filter, include_inactive=include_inactive))
    return paged_response(request, response, [SourcePublic.model_validate(source_public(s)) for s in result.items],
                          result.next_cursor)


@router.get("/{id}", response_model=SourcePublic)
def get_source(id: uuid.UUID, service: SourceServiceDep) -> SourcePublic:
    """The source, deactivated or not (`is_active`)."""
    return SourcePublic.model_validate(source_public(service.get(id)))


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
