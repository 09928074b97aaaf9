from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from minirag.api.schemas.common import PublicModel


class LivenessPublic(PublicModel):
    status: Literal["ok"] = "ok"


class PartHealthPublic(PublicModel):
    status: Literal["ok", "error"]
    latency_ms: float = Field(description="how long the probe took, in milliseconds")
    error: str | None = Field(default=None, description="which part failed (the cause is in the logs)")


class HealthPublic(PublicModel):
    status: Literal["ok", "degraded"] = Field(description='"degraded" (HTTP 503) when any part is in error')
    checks: dict[str, PartHealthPublic] = Field(
        description="database, vector_store, queue, storage (only database when it cannot verify the caller)")


class TenantCountsPublic(PublicModel):
    bots: int
    sources: int
    chunks: int


class TenantHealthPublic(PublicModel):
    id: uuid.UUID
    counts: TenantCountsPublic = Field(description="the caller tenant's own live bots, sources and stored chunks")


class HealthDetailedPublic(HealthPublic):
    versions: dict[str, str] = Field(description="minirag, python, sqlalchemy, qdrant_backend")
    tenant: TenantHealthPublic
