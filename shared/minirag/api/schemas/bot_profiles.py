from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import Field, SecretStr

from minirag.api.schemas.common import PatchModel, PublicModel, StrictModel
from minirag.documents.chunking import (
    DEFAULT_CHUNK_TOKENS,
    DEFAULT_OVERLAP_TOKENS,
    MAX_CHUNK_TOKENS,
    MIN_CHUNK_TOKENS,
    max_overlap_tokens,
)

Name = Annotated[str, Field(min_length=1, max_length=200)]
ModelName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:/@+-]+$",
                                 description="A LiteLLM model string, e.g. gpt-4o-mini or local/extractive")]
ProviderKey = Annotated[SecretStr, Field(min_length=1, max_length=1000)]
# Bounds for the docs; the pair rule (overlap < chunk_tokens / 2) is checked by the service.
ChunkTokens = Field(ge=MIN_CHUNK_TOKENS, le=MAX_CHUNK_TOKENS)
OverlapTokens = Field(ge=0, le=max_overlap_tokens(MAX_CHUNK_TOKENS))


class BotProfileCreate(StrictModel):
    name: Name
    description: Annotated[str | None, Field(max_length=2000)] = None
    system_prompt: Annotated[str, Field(max_length=20000)] = "You are a helpful assistant."
    model: ModelName | None = Field(default=None, description="Defaults to the server's DEFAULT_CHAT_MODEL")
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.2
    max_tokens: Annotated[int, Field(ge=1, le=32000)] = 512
    provider_api_key: ProviderKey | None = Field(default=None, description="Write-only; stored encrypted")
    embedding_model: ModelName | None = Field(default=None,
                                              description="Fixed at creation; defaults to EMBEDDING_MODEL")
    chunk_tokens: Annotated[int, ChunkTokens] = DEFAULT_CHUNK_TOKENS
    chunk_overlap_tokens: Annotated[int, OverlapTokens] = DEFAULT_OVERLAP_TOKENS
    top_k: Annotated[int, Field(ge=1, le=50)] = 5
    min_score: Annotated[float, Field(ge=0, le=1)] = 0.0
    no_answer_text: Annotated[str, Field(min_length=1, max_length=2000)] = "I don't know based on the provided sources."
    history_turns: Annotated[int, Field(ge=0, le=50)] = 6


class BotProfileUpdate(PatchModel):
    """PATCH: only the fields sent change. `provider_api_key: null` removes the stored key;
    `description: null` clears it; any other `null` is a 422."""

    nullable = frozenset({"description", "provider_api_key"})

    fixed_fields: ClassVar[dict[str, str]] = {
        "embedding_model": "the bot's stored vectors were made with it and search compares vectors of one model "
                           "only; create a new bot profile to use another embedding model",
    }
    name: Name | None = None
    description: Annotated[str | None, Field(max_length=2000)] = None
    system_prompt: Annotated[str | None, Field(max_length=20000)] = None
    model: ModelName | None = None
    temperature: Annotated[float | None, Field(ge=0, le=2)] = None
    max_tokens: Annotated[int | None, Field(ge=1, le=32000)] = None
    provider_api_key: ProviderKey | None = None
    chunk_tokens: Annotated[int | None, ChunkTokens] = None
    chunk_overlap_tokens: Annotated[int | None, OverlapTokens] = None
    top_k: Annotated[int | None, Field(ge=1, le=50)] = None
    min_score: Annotated[float | None, Field(ge=0, le=1)] = None
    no_answer_text: Annotated[str | None, Field(min_length=1, max_length=2000)] = None
    history_turns: Annotated[int | None, Field(ge=0, le=50)] = None


class BotProfilePublic(PublicModel):
    id: uuid.UUID
    name: str
    description: str | None
    system_prompt: str
    model: str
    temperature: float
    max_tokens: int
    has_provider_key: bool
    provider_key_last4: str | None
    embedding_model: str
    chunk_tokens: int
    chunk_overlap_tokens: int
    top_k: int
    min_score: float
    no_answer_text: str
    history_turns: int
    is_active: bool
    created_at: datetime
    updated_at: datetime
