"""Batches of sources, as the seed system sends them: `{bot_profile_id, name, source_type,
children: [{name, url | content | config: {url}}]}`; each child error names `children.N.field`."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, model_validator

from minirag.api.schemas.common import PublicModel, StrictModel, field_errors
from minirag.api.schemas.sources import Description, HttpUrlText, Metadata, SourceConfig, SourcePublic


class BatchChildCreate(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Description = None
    url: HttpUrlText | None = None
    config: SourceConfig | None = Field(default=None, description="`{url}`, the same as `url`")
    content: Annotated[str | None, Field(min_length=1)] = None
    metadata: Metadata | None = None


class BatchCreate(StrictModel):
    bot_profile_id: uuid.UUID
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Description = None
    source_type: Literal["text", "url"] = Field(description="every child's type: text (content) or url")
    metadata: Metadata | None = Field(default=None, description="the parent's; each child may have its own")
    children: list[BatchChildCreate] = Field(min_length=1,
                                             description="at least one; SOURCE_BATCH_MAX_CHILDREN at most")

    @model_validator(mode="after")
    def _children_match_type(self) -> "BatchCreate":
        """Text children take `content`, URL children `url` (or `config.url`), never the other."""
        errors: dict[str, str] = {}
        for i, child in enumerate(self.children):
            if child.config is not None and child.config.url is not None:
                if child.url is not None:
                    errors[f"children.{i}.config.url"] = "send the URL once: url or config.url, not both"
                child.url = child.config.url
            wanted, other = ("content", "url") if self.source_type == "text" else ("url", "content")
            if getattr(child, wanted) is None:
                errors[f"children.{i}.{wanted}"] = f"required when source_type is '{self.source_type}'"
            if getattr(child, other) is not None:
                errors[f"children.{i}.{other}"] = f"not allowed when source_type is '{self.source_type}'"
        if errors:
            raise field_errors("BatchCreate", errors)
        return self


class BatchCreated(PublicModel):
    parent: SourcePublic
    children: list[SourcePublic]


class ChildrenIngestAccepted(PublicModel):
    status: Literal["accepted"] = "accepted"
    enqueued: int = Field(description="children queued for ingestion")
    message: str
