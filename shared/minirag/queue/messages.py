"""The ingest message. It carries ids only (never content or credentials): the worker trusts it
only as far as the tenant-scoped load of its source."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class IngestMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: uuid.UUID
    source_id: uuid.UUID
    version: int = Field(ge=1)
    # "plan": read the source, count documents, fan out batch messages (or do it all if small).
    # "batch": process documents [start, stop) of the given version.
    # "purge": the source was deactivated: remove its vectors, chunks and upload.
    kind: Literal["plan", "batch", "purge"] = "plan"
    start: int = Field(default=0, ge=0)
    stop: int = Field(default=0, ge=0)
