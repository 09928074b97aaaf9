from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, model_validator

from minirag.api.schemas.common import PatchModel, PublicModel, StrictModel, field_errors
from minirag.errors import InvalidInput
from minirag.services.sources import public_status
from minirag.storable import MAX_METADATA_BYTES, MAX_METADATA_DEPTH, json_depth, json_size

SourceTypeName = Literal["text", "upload", "url"]
HttpUrlText = Annotated[str, Field(min_length=8, max_length=2048, pattern=r"^https?://[^\s]+$",
                                   description="http(s) URL; private and loopback addresses are refused")]
Filename = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^/\\\x00]+$")]


def _bounded_metadata(value: dict[str, Any]) -> dict[str, Any]:
    """Refused here, before any write: deeper metadata fails to serialise (pydantic stops at ~255
    levels) after the row is committed, and then every listing of the tenant's sources fails."""
    if json_depth(value) > MAX_METADATA_DEPTH:
        raise ValueError(f"nested more than {MAX_METADATA_DEPTH} levels deep")
    if json_size(value) > MAX_METADATA_BYTES:
        raise ValueError(f"larger than {MAX_METADATA_BYTES} bytes as JSON")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_bounded_metadata),
                     Field(description=f"Free-form JSON object: at most {MAX_METADATA_DEPTH} levels deep "
                                       f"and {MAX_METADATA_BYTES} bytes")]


Description = Annotated[str | None, Field(max_length=2000)]
RefreshSchedule = Literal["none", "hourly", "daily", "weekly"]
SourceStatusName = Literal["pending", "queued", "processing", "ready", "error"]


class SourceConfig(StrictModel):
    """The seed system's `config`: `{url}` for URL sources (the same as the top-level `url`)."""

    url: HttpUrlText | None = None


def _config_url_to_url(model: Any, name: str) -> None:
    """Move `config.url` to `url` (vetted the same way by the service); both at once is a 422."""
    config = model.config
    if config is None or config.url is None:
        return
    if model.url is not None:
        raise field_errors(name, {"config.url": "send the URL once: url or config.url, not both"})
    model.url = config.url
    model.model_fields_set.add("url")


class SourceCreate(StrictModel):
    bot_profile_id: uuid.UUID
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Description = None
    source_type: SourceTypeName
    config: SourceConfig | None = Field(default=None, description="`{url}` for URL sources (the seed system's "
                                                                  "shape; the same as `url`)")
    content: Annotated[str | None, Field(min_length=1, description="text sources: the text itself")] = None
    url: HttpUrlText | None = None
    filename: Filename | None = Field(default=None, description="upload sources: the file name (type by extension)")
    content_type: Annotated[str | None, Field(max_length=255)] = None
    metadata: Metadata = Field(default_factory=dict)
    refresh_schedule: RefreshSchedule = Field(default="none", description="URL sources: re-ingest on this schedule "
                                                                         "(unchanged content is not re-embedded)")

    @model_validator(mode="after")
    def _fields_match_type(self) -> "SourceCreate":
        """Each source type takes exactly its own field; the error names the field, not the body."""
        _config_url_to_url(self, "SourceCreate")
        required = {"text": "content", "url": "url", "upload": "filename"}[self.source_type]
        if getattr(self, required) is None:
            raise field_errors("SourceCreate", {required: f"required when source_type is '{self.source_type}'"})
        for other in ("content", "url", "filename", "content_type"):
            if other != required and getattr(self, other) is not None and not (
                    other == "content_type" and self.source_type == "upload"):
                raise field_errors("SourceCreate", {other: f"not allowed when source_type is '{self.source_type}'"})
        return self


class SourceUpdate(PatchModel):
    """PATCH: rename, replace a text source's content or a URL source's url, or set metadata
    (`null` clears it). A changed content/url takes effect at the next ingest. `is_active: false`
    deactivates the source like DELETE; `is_active: true` reactivates it, and then it needs an
    ingest (the answer says so: `status: pending`, `needs_ingest`, `message`)."""

    nullable = frozenset({"metadata", "description"})

    fixed_fields: ClassVar[dict[str, str]] = {
        "bot_profile_id": "a source belongs to the bot it was created for; create it again under the other bot",
        "source_type": "the type decides where the content comes from; create a new source of the other type",
    }

    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    content: Annotated[str | None, Field(min_length=1)] = None
    url: HttpUrlText | None = None
    config: SourceConfig | None = None
    metadata: Metadata | None = None
    description: Description = None
    is_active: bool | None = None
    refresh_schedule: RefreshSchedule | None = None

    @model_validator(mode="after")
    def _config(self) -> "SourceUpdate":
        _config_url_to_url(self, "SourceUpdate")
        return self


class SourceProgress(PublicModel):
    documents_done: int
    documents_total: int
    chunks: int
    batches_done: int
    batches_total: int


class SkippedInput(PublicModel):
    line: int | None = Field(default=None, description="JSON Lines: the 1-based line number")
    member: str | None = Field(default=None, description="zip: the member's path")
    reason: str


class DocumentPublic(PublicModel):
    """One document of a source's served version (a JSON Lines line, a zip member, or the file itself)."""

    id: uuid.UUID
    position: int = Field(description="0-based, in source order")
    title: str | None
    external_id: str | None = Field(description="JSON Lines `id`; a zip member's path")
    metadata: dict[str, Any] = Field(description="JSON Lines `metadata` (returned with retrieved chunks too)")
    chunk_count: int
    created_at: datetime


def document_public(doc: Any) -> DocumentPublic:
    return DocumentPublic(id=doc.id, position=doc.position, title=doc.title, external_id=doc.external_id,
                          metadata=doc.metadata_ or {}, chunk_count=doc.chunk_count, created_at=doc.created_at)


class SourcePublic(PublicModel):
    id: uuid.UUID
    bot_profile_id: uuid.UUID
    name: str
    description: str | None
    source_type: SourceTypeName
    config: dict[str, Any] = Field(description="`{url}` for URL sources; `{original_filename, file_size}` for "
                                               "uploads (the size once the file is seen)")
    url: str | None
    filename: str | None
    content_type: str | None
    content_chars: int | None
    metadata: dict[str, Any]
    status: SourceStatusName = Field(description="pending (never ingested since created or reactivated), queued, "
                                                 "processing, ready, error (see last_error)")
    chunk_count: int = Field(description="chunks of the latest ingest")
    needs_ingest: bool = Field(description="true while the source has to be ingested to be served")
    message: str | None = Field(default=None, description="what to do next, when there is something to do")
    version: int
    ready_version: int | None
    progress: SourceProgress
    last_error: str | None
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    is_active: bool
    created_at: datetime
    updated_at: datetime
    # -- sources part (issue 11) --
    parent_id: uuid.UUID | None = Field(default=None, description="a batch child's parent source")
    children_count: int = Field(default=0, description="a batch parent's children")
    document_count: int = Field(default=0, description="documents of the version retrieval serves")
    skipped: list[SkippedInput] = Field(default_factory=list, description=(
        "what the last ingest left out, and why: bad JSON Lines lines (`line`) or zip members (`member`); "
        "the first 100"))
    stale: bool = Field(default=False, description=(
        "content or url edited since the last ingest: retrieval serves the old content until it is ingested again"))
    refresh_schedule: RefreshSchedule = Field(default="none", description="URL sources: none, hourly, daily, weekly")
    last_refreshed_at: datetime | None = Field(default=None, description="the last scheduled refresh (UTC)")


class UploadInstructions(PublicModel):
    """Send the file with `curl -X PUT --upload-file FILE "<url>"` (plus the headers) before ingesting."""

    method: Literal["PUT"] = "PUT"
    url: str
    headers: dict[str, str]
    expires_at: datetime
    max_bytes: int


class SourceCreated(SourcePublic):
    upload: UploadInstructions | None = None


def source_config(source: Any) -> dict[str, Any]:
    if source.source_type.value == "url":
        return {"url": source.url}
    if source.source_type.value == "upload":
        config: dict[str, Any] = {"original_filename": source.filename}
        if source.file_size is not None:
            config["file_size"] = source.file_size
        return config
    return {}


class SourceIngestAccepted(SourcePublic):
    """202: the source, queued, with the seed system's `{status, message}`."""

    message: str | None = Field(description="what happens next")
class SourceUploaded(SourcePublic):
    """A direct (multipart) upload: the source, with the file as it was received."""

    config: dict[str, Any] = Field(description="`original_filename` and `file_size` (bytes) of the uploaded file")


def parse_form_metadata(raw: str | None) -> dict[str, Any]:
    """A multipart `metadata` field: a JSON object as text, bounded like a JSON body's `metadata`."""
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput("metadata", f"not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise InvalidInput("metadata", "expected a JSON object")
    try:
        return _bounded_metadata(value)
    except ValueError as exc:
        raise InvalidInput("metadata", str(exc)) from None


def source_public(source: Any, **extra: Any) -> dict[str, Any]:
    """Shape a Source row into the public dict (progress nested, content summarised as its length)."""
    return {
        "id": source.id,
        "bot_profile_id": source.bot_profile_id,
        "name": source.name,
        "description": source.description,
        "source_type": source.source_type.value,
        "config": source_config(source),
        "url": source.url,
        "filename": source.filename,
        "content_type": source.content_type,
        "content_chars": len(source.content) if source.content is not None else None,
        "metadata": source.metadata_ or {},
        "status": public_status(source.status),
        "chunk_count": source.chunks_total,
        "needs_ingest": bool(source.is_active) and source.status.value == "pending",
        "version": source.version,
        "ready_version": source.ready_version,
        "progress": {
            "documents_done": source.documents_done,
            "documents_total": source.documents_total,
            "chunks": source.chunks_total,
            "batches_done": source.batches_done,
            "batches_total": source.batches_total,
        },
        "last_error": source.last_error,
        "queued_at": source.queued_at,
        "started_at": source.started_at,
        "finished_at": source.finished_at,
        "is_active": source.is_active,
        "created_at": source.created_at,
        "updated_at": source.updated_at,
        # -- sources part (issue 11) --
        "parent_id": source.parent_id,
        "children_count": source.children_count or 0,
        "document_count": source.document_count or 0,
        "skipped": source.skipped or [],
        "stale": bool(source.stale),
        "refresh_schedule": source.refresh_schedule or "none",
        "last_refreshed_at": source.last_refreshed_at,
        **extra,
    }
