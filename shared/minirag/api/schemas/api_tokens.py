from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AliasChoices, Field

from minirag.api.schemas.common import PublicModel, StrictModel


class ApiTokenCreate(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = None


class ApiTokenPublic(PublicModel):
    """Never the raw token nor its hash: only the display prefix."""

    id: uuid.UUID
    name: str
    prefix: str
    token_prefix: str = Field(validation_alias=AliasChoices("token_prefix", "prefix"),
                              description="The token's first characters, safe to show (the seed system's name)")
    user_id: uuid.UUID
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenPublic):
    raw_token: str = Field(description="Shown once; store it now.")
