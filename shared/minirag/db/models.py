"""The entities. Tables are singular snake_case; every tenant-owned table leads its indexes with
`tenant_id`, and references between tenant-owned rows are composite foreign keys on
`(tenant_id, <thing>_id)`, so even a bug above the data layer cannot point a row at another tenant's."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from minirag.db.base import Base, IdMixin, TenantOwned, TimestampMixin, UTCDateTime


def _enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """Store enum values (not names) as plain strings with a CHECK, portable across SQLite and PostgreSQL."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


def _same_tenant_fk(column: str, target: str, ondelete: str = "CASCADE") -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", column], [f"{target}.tenant_id", f"{target}.id"], ondelete=ondelete
    )


class UserRole(str, enum.Enum):
    owner = "owner"
    admin = "admin"
    member = "member"


class SourceType(str, enum.Enum):
    text = "text"
    upload = "upload"
    url = "url"


class SourceStatus(str, enum.Enum):
    pending = "pending"
    queued = "queued"
    processing = "processing"
    ready = "ready"
    failed = "failed"


class MessageRole(str, enum.Enum):
    user = "user"
    assistant = "assistant"


class MessageFeedback(str, enum.Enum):
    positive = "positive"
    negative = "negative"


class UsageKind(str, enum.Enum):
    chat = "chat"
    rewrite = "rewrite"
    embedding = "embedding"
    rerank = "rerank"


class Tenant(IdMixin, TimestampMixin, Base):
    __tablename__ = "tenant"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The seed system's plan label (informational: limits come from LIMIT_* and `limits`).
    plan: Mapped[str] = mapped_column(String(32), default="free", server_default="free")
    # The operator's per-tenant overrides of the LIMIT_* settings ({"bots": 5, ...}); None: defaults.
    limits: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)


class User(TenantOwned, Base):
    __tablename__ = "user_account"
    # An email is unique per tenant, not globally: so sign-up cannot tell whether it is registered.
    __table_args__ = (UniqueConstraint("tenant_id", "id"), UniqueConstraint("tenant_id", "email"),
                      Index(None, "email"))

    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(_enum(UserRole, "user_role"), default=UserRole.member)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)


class ApiToken(TenantOwned, Base):
    __tablename__ = "api_token"
    __table_args__ = (
        _same_tenant_fk("user_id", "user_account"),
        Index(None, "tenant_id", "created_at", "id"),
        _same_tenant_fk("bot_profile_id", "bot_profile"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What the token may do (minirag.security.permissions): None is all its user's role allows; a key
    # bound to one bot (a publishable chat key) only chats and retrieves with it, from allowed_origins.
    scopes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    bot_profile_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    allowed_origins: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class BotProfile(TenantOwned, Base):
    __tablename__ = "bot_profile"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index(None, "tenant_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[str] = mapped_column(String(200))
    temperature: Mapped[float] = mapped_column(Float, default=0.2)
    max_tokens: Mapped[int] = mapped_column(Integer, default=1024)
    provider_key_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    provider_key_last4: Mapped[str | None] = mapped_column(String(4), nullable=True)
    embedding_model: Mapped[str] = mapped_column(String(200))
    chunk_tokens: Mapped[int] = mapped_column(Integer, default=200)
    chunk_overlap_tokens: Mapped[int] = mapped_column(Integer, default=40)
    top_k: Mapped[int] = mapped_column(Integer, default=5)
    min_score: Mapped[float] = mapped_column(Float, default=0.0)
    no_answer_text: Mapped[str] = mapped_column(Text, default="I don't know based on the provided sources.")
    history_turns: Mapped[int] = mapped_column(Integer, default=6)
    # A metadata filter (vectorstore/filters.py JSON) AND-ed with every retrieval of this bot.
    default_filter: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Reranking (issue 12): a LiteLLM rerank model, and how many reranked passages to keep (None: top_k).
    rerank_model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    rerank_top_n: Mapped[int | None] = mapped_column(Integer, nullable=True)

    @property
    def has_provider_key(self) -> bool:
        return self.provider_key_encrypted is not None


class Source(TenantOwned, Base):
    __tablename__ = "source"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        _same_tenant_fk("bot_profile_id", "bot_profile"),
        Index(None, "tenant_id", "created_at", "id"),
        Index(None, "tenant_id", "bot_profile_id", "created_at"),
        # sources part (issue 11): a batch's children point at their parent (same tenant)
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["source.tenant_id", "source.id"], ondelete="CASCADE",
                             name="fk_source_parent"),
        Index(None, "tenant_id", "parent_id", "created_at"),
    )

    bot_profile_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_type: Mapped[SourceType] = mapped_column(_enum(SourceType, "source_type"))
    content: Mapped[str | None] = mapped_column(Text, nullable=True)
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    object_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    file_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # bytes, once the upload is seen
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    status: Mapped[SourceStatus] = mapped_column(_enum(SourceStatus, "source_status"), default=SourceStatus.pending)
    # `version` counts ingest requests; a worker only writes for the version it was sent, and
    # `ready_version` is the one whose chunks are visible to retrieval.
    version: Mapped[int] = mapped_column(Integer, default=0)
    ready_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    documents_total: Mapped[int] = mapped_column(Integer, default=0)
    documents_done: Mapped[int] = mapped_column(Integer, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    batches_total: Mapped[int] = mapped_column(Integer, default=0)
    batches_done: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The reconciler re-enqueues a stuck version once (then records it here) and fails it the next time.
    requeued_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Set when a deactivated source's vectors, rows and file are gone (`minirag purge-inactive` finds the rest).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # -- sources part (issue 11): batches, skipped input, scheduled refresh ------------------------
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)  # a batch child's parent
    children_count: Mapped[int] = mapped_column(Integer, default=0)  # a batch parent's children
    document_count: Mapped[int] = mapped_column(Integer, default=0)  # documents of the ready version
    # What the last plan left out: [{"line": n, "reason": ...}] (JSON Lines) or [{"member": path, "reason": ...}].
    skipped: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    refresh_schedule: Mapped[str] = mapped_column(String(16), default="none")  # none|hourly|daily|weekly
    last_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # sha256 of the bytes the ready version was built from: a refresh that fetches the same bytes keeps it.
    content_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)  # content/url edited since the last ingest
    # The version a scheduled refresh asked for (its worker may keep the served version when the bytes
    # are unchanged), and the hash of the bytes the version in progress was planned from.
    refresh_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    planned_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Document(TenantOwned, Base):
    __tablename__ = "document"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        _same_tenant_fk("source_id", "source"),
        UniqueConstraint("source_id", "version", "position"),
        Index(None, "tenant_id", "source_id", "version"),
    )

    source_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    bot_profile_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(512), nullable=True)
    title: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    content_sha256: Mapped[str] = mapped_column(String(64))
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)


class Chunk(TenantOwned, Base):
    __tablename__ = "chunk"
    __table_args__ = (
        _same_tenant_fk("document_id", "document"),
        UniqueConstraint("document_id", "position"),
        Index(None, "tenant_id", "source_id", "version"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    source_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    bot_profile_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    version: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    token_count: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    page: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Chat(TenantOwned, Base):
    __tablename__ = "chat"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        _same_tenant_fk("bot_profile_id", "bot_profile"),
        Index(None, "tenant_id", "created_at", "id"),
        Index(None, "tenant_id", "bot_profile_id", "created_at", "id"),  # GET /v1/chat?bot_profile_id=
        Index(None, "tenant_id", "bot_profile_id", "end_user", "created_at"),  # OpenAI `user`: their chat
    )

    bot_profile_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The end user the OpenAI-compatible endpoint's `user` names: their turns continue this chat.
    end_user: Mapped[str | None] = mapped_column(String(256), nullable=True)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)


class Message(TenantOwned, Base):
    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        _same_tenant_fk("chat_id", "chat"),
        Index(None, "tenant_id", "chat_id", "created_at", "id"),
        Index(None, "tenant_id", "created_at", "role", "feedback"),  # /v1/stats/feedback, the chat export
    )

    chat_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    role: Mapped[MessageRole] = mapped_column(_enum(MessageRole, "message_role"))
    content: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    retrieval_query: Mapped[str | None] = mapped_column(Text, nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The user's rating of an assistant answer (PATCH .../feedback); None: not rated.
    feedback: Mapped[MessageFeedback | None] = mapped_column(_enum(MessageFeedback, "message_feedback"),
                                                             nullable=True)
    feedback_comment: Mapped[str | None] = mapped_column(Text, nullable=True)


class UsageEvent(TenantOwned, Base):
    __tablename__ = "usage_event"
    # /v1/stats/*: a covering index (the range on created_at, then every column the GROUP BYs and
    # sums read), so the aggregates are index-only scans of one tenant's range (bench/stats_query.py).
    __table_args__ = (Index("ix_usage_event_stats", "tenant_id", "created_at", "model", "bot_profile_id",
                            "prompt_tokens", "completion_tokens", "total_tokens"),
                      Index(None, "tenant_id", "chat_id"))

    kind: Mapped[UsageKind] = mapped_column(_enum(UsageKind, "usage_kind"))
    model: Mapped[str] = mapped_column(String(200))
    bot_profile_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    chat_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    source_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)


class UsageCounter(Base):
    """A named counter for limits and throttles, shared by every process through the database: one
    row per key (the key names the window, e.g. `t:<tenant>:chat_turns:d:20261201`), bumped by an
    atomic upsert. Not tenant-owned: login throttles count before any tenant is known."""

    __tablename__ = "usage_counter"
    __table_args__ = (Index(None, "expires_at"),)

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[int] = mapped_column(BigInteger)  # epoch seconds: past it, the count starts again
    last_at: Mapped[int] = mapped_column(BigInteger)  # epoch seconds of the last bump (login back-off)


class SignupInvite(IdMixin, TimestampMixin, Base):
    """A single-use sign-up code (`minirag invite`), stored as its SHA-256 only."""

    __tablename__ = "signup_invite"

    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)  # the tenant it created


# --- The embedded queue --------------------------------------------------------------------------


class QueueMessage(Base):
    """One message of the embedded (durable) queue: what SQS keeps for a message. Not tenant-owned:
    the queue is infrastructure, and its bodies are trusted only as far as the scoped load they lead
    to. `group_id` (the tenant) drives round-robin receives, like MessageGroupId on an SQS fair queue."""

    __tablename__ = "queue_message"
    __table_args__ = (Index(None, "queue", "visible_at"), Index(None, "queue", "group_id", "sent_at"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    queue: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    receive_count: Mapped[int] = mapped_column(Integer, default=0)
    receipt: Mapped[str | None] = mapped_column(String(36), nullable=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    visible_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- Webhooks ------------------------------------------------------------------------------------


class Webhook(TenantOwned, Base):
    """A tenant's subscription: events POSTed to `url`, signed with a secret stored Fernet-encrypted
    (shown once, at creation or rotation)."""

    __tablename__ = "webhook"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index(None, "tenant_id", "created_at", "id"),
    )

    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class WebhookDelivery(TenantOwned, Base):
    """One delivery attempt of one event to one webhook: the delivery log."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        _same_tenant_fk("webhook_id", "webhook"),
        Index(None, "tenant_id", "webhook_id", "created_at", "id"),
    )

    webhook_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
