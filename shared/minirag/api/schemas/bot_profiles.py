from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import AliasChoices, Field, SecretStr, model_validator

from minirag.api.schemas.common import PatchModel, PublicModel, StrictModel, field_errors
from minirag.api.schemas.filters import FILTER_DESCRIPTION, RetrievalFilter
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
DEFAULT_MAX_TOKENS = 1024
MAX_RERANK_TOP_N = 100
RerankModel = Field(default=None, description="A LiteLLM rerank model (e.g. cohere/rerank-v3.5, "
                                              "jina_ai/jina-reranker-v2-base-multilingual); null: no reranking")
RerankTopN = Field(default=None, ge=1, le=MAX_RERANK_TOP_N,
                   description="How many reranked passages are kept; null: the top_k asked for")


class Credentials(StrictModel):
    """The seed system's shape of the provider key: `credentials: {api_key}`."""

    api_key: ProviderKey


class _KeyAliases(StrictModel):
    """`credentials.api_key` is `provider_api_key` under the seed system's name: it is moved there
    (and `credentials` dropped), so the rest of the code knows one field. Both at once is a 422."""

    @model_validator(mode="before")
    @classmethod
    def _one_key_field(cls, data: Any) -> Any:
        if isinstance(data, dict) and "credentials" in data and "provider_api_key" in data:
            raise field_errors(cls.__name__, {"credentials": "send the key once: credentials.api_key or "
                                                             "provider_api_key, not both"})
        return data

    @model_validator(mode="after")
    def _credentials_to_provider_key(self) -> Any:
        if "credentials" in self.model_fields_set:
            credentials = getattr(self, "credentials")  # noqa: B009 - declared by the subclasses
            self.provider_api_key = None if credentials is None else credentials.api_key
            self.model_fields_set.add("provider_api_key")
            self.model_fields_set.discard("credentials")
            self.credentials = None
        return self


class BotProfileCreate(_KeyAliases):
    name: Name
    description: Annotated[str | None, Field(max_length=2000)] = None
    system_prompt: Annotated[str, Field(max_length=20000)] = "You are a helpful assistant."
    model: ModelName | None = Field(default=None, description="Defaults to the server's DEFAULT_CHAT_MODEL")
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.2
    max_tokens: Annotated[int, Field(ge=1, le=32000)] = DEFAULT_MAX_TOKENS
    provider_api_key: ProviderKey | None = Field(default=None, description="Write-only; stored encrypted")
    credentials: Credentials | None = Field(default=None, description="The same as `provider_api_key`, "
                                                                      "as the seed system sends it")
    embedding_model: ModelName | None = Field(default=None,
                                              description="Fixed at creation; defaults to EMBEDDING_MODEL")
    chunk_tokens: Annotated[int, ChunkTokens] = DEFAULT_CHUNK_TOKENS
    chunk_overlap_tokens: Annotated[int, OverlapTokens] = DEFAULT_OVERLAP_TOKENS
    top_k: Annotated[int, Field(ge=1, le=50)] = 5
    min_score: Annotated[float, Field(ge=0, le=1)] = 0.0
    no_answer_text: Annotated[str, Field(min_length=1, max_length=2000)] = "I don't know based on the provided sources."
    history_turns: Annotated[int, Field(ge=0, le=50)] = 6
    default_filter: RetrievalFilter | None = Field(default=None, description=FILTER_DESCRIPTION + " Applied to "
                                                   "every retrieval of the bot, AND-ed with a request's filter.")
    rerank_model: ModelName | None = RerankModel
    rerank_top_n: int | None = RerankTopN


class BotProfileUpdate(PatchModel, _KeyAliases):
    """PATCH: only the fields sent change. `provider_api_key: null` (or `credentials: null`) removes
    the stored key; `description: null` clears it; any other `null` is a 422. `is_active: false`
    deactivates the bot like DELETE; `is_active: true` reactivates it (its sources stay deactivated
    until each is reactivated and ingested)."""

    nullable = frozenset({"description", "provider_api_key", "credentials", "default_filter", "rerank_model",
                          "rerank_top_n"})

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
    credentials: Credentials | None = None
    is_active: bool | None = None
    chunk_tokens: Annotated[int | None, ChunkTokens] = None
    chunk_overlap_tokens: Annotated[int | None, OverlapTokens] = None
    top_k: Annotated[int | None, Field(ge=1, le=50)] = None
    min_score: Annotated[float | None, Field(ge=0, le=1)] = None
    no_answer_text: Annotated[str | None, Field(min_length=1, max_length=2000)] = None
    history_turns: Annotated[int | None, Field(ge=0, le=50)] = None
    default_filter: RetrievalFilter | None = None
    rerank_model: ModelName | None = RerankModel
    rerank_top_n: int | None = RerankTopN


class BotProfilePublic(PublicModel):
    id: uuid.UUID
    name: str
    description: str | None
    system_prompt: str
    model: str
    temperature: float
    max_tokens: int
    has_provider_key: bool
    has_credentials: bool = Field(validation_alias=AliasChoices("has_credentials", "has_provider_key"),
                                  description="The same as `has_provider_key` (the seed system's name)")
    provider_key_last4: str | None
    embedding_model: str
    chunk_tokens: int
    chunk_overlap_tokens: int
    top_k: int
    min_score: float
    no_answer_text: str
    history_turns: int
    default_filter: dict[str, Any] | None = None
    rerank_model: str | None = None
    rerank_top_n: int | None = None
    is_active: bool
    created_at: datetime
    updated_at: datetime
