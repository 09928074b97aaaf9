from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field

from minirag.api.schemas.common import PatchModel, PublicModel, StrictModel

Url = Annotated[str, Field(min_length=1, max_length=2048, description="http(s) target; must resolve to a public "
                                                                       "address (vetted again at every delivery)")]
Events = Annotated[list[Annotated[str, Field(max_length=64)]], Field(
    min_length=1, max_length=10, description="Events to receive: source.ingested, source.failed, chat.message")]
Description = Annotated[str | None, Field(max_length=2000)]


class WebhookCreate(StrictModel):
    url: Url
    events: Events
    description: Description = None
    is_active: bool = True


class WebhookUpdate(PatchModel):
    """PATCH: only the fields sent change; `description: null` clears it."""

    nullable = frozenset({"description"})

    url: Url | None = None
    events: Events | None = None
    description: Description = None
    is_active: bool | None = None


class WebhookPublic(PublicModel):
    """Never the secret (shown once, at creation or rotation)."""

    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookPublic):
    secret: str = Field(description="whsec_<base64>: shown once; verify deliveries with it (Standard Webhooks)")


class WebhookTestQueued(StrictModel):
    status: str = "queued"
    event_id: str = Field(description="The ping's webhook-id header; its attempts appear in the delivery log")


class WebhookDeliveryPublic(PublicModel):
    id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: str = Field(description="The webhook-id header: the same on every retry of one event")
    event: str
    attempt: int
    status_code: int | None = Field(description="The receiver's HTTP status; null when no response (refused, "
                                                "timed out, connection failed)")
    success: bool
    duration_ms: int
    error: str | None
    created_at: datetime
