"""Typed responses of the MiniRAG API. Each model names the OpenAPI schema it mirrors
(`__schema__`); a test in the MiniRAG repository (tests/clients/test_sdk_models.py) fails when a
model and its schema drift apart. Unknown fields sent by a newer server are kept, not refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    __schema__: ClassVar[str] = ""


class Tenant(ApiModel):
    __schema__ = "TenantPublic"
    id: str
    name: str
    slug: str
    plan: str
    is_active: bool
    created_at: datetime


class User(ApiModel):
    __schema__ = "UserPublic"
    id: str
    email: str
    role: str
    display_name: str | None = None
    is_active: bool = True
    created_at: datetime
    updated_at: datetime | None = None


class ApiToken(ApiModel):
    __schema__ = "ApiTokenPublic"
    id: str
    name: str
    prefix: str
    token_prefix: str
    user_id: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    scopes: list[str] | None = None
    bot_profile_id: str | None = None
    allowed_origins: list[str] | None = None


class CreatedApiToken(ApiToken):
    __schema__ = "ApiTokenCreated"
    raw_token: str = Field(description="shown once")


class Bootstrap(ApiModel):
    __schema__ = "TenantBootstrapPublic"
    tenant: Tenant
    owner: User
    api_token: str = Field(description="the owner's first API token, shown once")
    raw_token: str
    token: ApiToken


class AccessToken(ApiModel):
    __schema__ = "AccessTokenPublic"
    access_token: str
    expires_at: datetime
    expires_in: int
    token_type: str = "bearer"


class BotProfile(ApiModel):
    __schema__ = "BotProfilePublic"
    id: str
    name: str
    description: str | None
    system_prompt: str
    model: str
    temperature: float
    max_tokens: int
    has_provider_key: bool
    has_credentials: bool
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


SourceStatus = Literal["pending", "queued", "processing", "ready", "error"]


class SourceProgress(ApiModel):
    __schema__ = "SourceProgress"
    documents_done: int
    documents_total: int
    chunks: int
    batches_done: int
    batches_total: int


class UploadInstructions(ApiModel):
    __schema__ = "UploadInstructions"
    url: str
    method: str = "PUT"
    headers: dict[str, str]
    expires_at: datetime
    max_bytes: int


class Source(ApiModel):
    __schema__ = "SourcePublic"
    id: str
    bot_profile_id: str
    name: str
    description: str | None
    source_type: Literal["text", "upload", "url"]
    config: dict[str, Any]
    url: str | None
    filename: str | None
    content_type: str | None
    content_chars: int | None
    metadata: dict[str, Any]
    status: SourceStatus
    chunk_count: int
    needs_ingest: bool
    message: str | None = None
    version: int
    ready_version: int | None
    progress: SourceProgress
    last_error: str | None
    is_active: bool
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def done(self) -> bool:
        """Ingest finished (ready or error)."""
        return self.status in ("ready", "error")


class CreatedSource(Source):
    __schema__ = "SourceCreated"
    upload: UploadInstructions | None = None


class Citation(ApiModel):
    __schema__ = "Citation"
    index: int
    source_id: str
    document_id: str
    chunk_id: str
    title: str | None
    snippet: str
    score: float
    external_id: str | None
    filename: str | None = None
    heading: str | None = None
    page: int | None = None


class Usage(ApiModel):
    __schema__ = "UsagePublic"
    model: str | None = None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float | None = None


class AnswerMessage(ApiModel):
    __schema__ = "AnswerMessagePublic"
    id: str
    role: str
    content: str


class ChatAnswer(ApiModel):
    __schema__ = "ChatResponse"
    chat_id: str
    message_id: str
    user_message_id: str
    answer: str
    message: AnswerMessage
    citations: list[Citation]
    sources: list[Citation]
    retrieval_query: str
    usage: Usage


class Chat(ApiModel):
    __schema__ = "ChatPublic"
    id: str
    bot_profile_id: str
    title: str | None
    message_count: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float | None
    created_at: datetime
    updated_at: datetime


class Message(ApiModel):
    __schema__ = "MessagePublic"
    id: str
    chat_id: str
    role: Literal["user", "assistant"]
    content: str
    citations: list[dict[str, Any]] | None
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    retrieval_query: str | None
    error: str | None
    feedback: Literal["positive", "negative"] | None = None
    feedback_comment: str | None = None
    created_at: datetime


class RetrievedChunk(ApiModel):
    __schema__ = "RetrievedChunkPublic"
    rank: int
    chunk_id: str
    document_id: str
    source_id: str
    text: str
    score: float
    relevance: float | None
    rerank_score: float | None = None
    fused_score: float | None = None
    ranks: dict[str, int | None] = {}
    file_type: str | None = None
    title: str | None
    external_id: str | None
    heading: str | None
    page: int | None
    filename: str | None = None


class Webhook(ApiModel):
    __schema__ = "WebhookPublic"
    id: str
    url: str
    events: list[str]
    description: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(Webhook):
    __schema__ = "WebhookWithSecret"
    secret: str = Field(description="shown once: verify deliveries with it")


class WebhookDelivery(ApiModel):
    __schema__ = "WebhookDeliveryPublic"
    id: str
    webhook_id: str
    event_id: str
    event: str
    attempt: int
    status_code: int | None
    success: bool
    duration_ms: int | None
    error: str | None
    created_at: datetime


class StatsOverview(ApiModel):
    __schema__ = "OverviewPublic"
    bots: int
    sources: int
    chats: int
    messages: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatEvent(BaseModel):
    """One event of a streamed answer: `start` {chat_id}, `token` {text}, then `done` (the whole
    answer, as `answer`) or `error` {code, message, details}."""

    type: Literal["start", "token", "done", "error"]
    data: dict[str, Any]
    answer: ChatAnswer | None = None

    @property
    def text(self) -> str:
        return str(self.data.get("text", "")) if self.type == "token" else ""
