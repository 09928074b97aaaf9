"""What the routers hand the services: one typed command per use case, plain values only (secrets
already unwrapped, ids parsed). The API schemas validate the wire format; these say what a use case
takes, so services depend on no web framework and on no `dict[str, Any]`.

A PATCH command leaves a field `UNSET` when the request did not send it; `changes()` gives the sent
ones (a `None` among them means "clear", which the API schema allows only where it makes sense)."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Literal


class Unset(enum.Enum):
    UNSET = "unset"


UNSET = Unset.UNSET


class _Changes:
    def changes(self) -> dict[str, Any]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not UNSET}  # type: ignore[arg-type]


# -- tenants and auth ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BootstrapTenant:
    tenant_name: str
    tenant_slug: str
    owner_email: str
    owner_password: str
    invite_code: str | None = None  # required when SIGNUP=invite
    owner_display_name: str | None = None


@dataclass(frozen=True)
class Login:
    email: str
    password: str
    client_address: str = "unknown"  # API Gateway's sourceIp: the per-address throttle
    tenant_slug: str | None = None  # which account, when one email and password open several


@dataclass(frozen=True)
class CreateApiToken:
    name: str
    expires_in_days: int | None
    scopes: tuple[str, ...] | None = None  # None: what the creating credential has
    bot_profile_id: uuid.UUID | None = None  # a publishable key, bound to one bot
    allowed_origins: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Caller:
    """Who acts (for rules that depend on it: a token may not grant more than its creator has)."""

    user_id: uuid.UUID
    role: str
    permissions: frozenset[str]
    scopes: tuple[str, ...] | None = None


# -- bot profiles -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CreateBotProfile:
    name: str
    description: str | None
    system_prompt: str
    model: str | None  # None: the server's default chat model
    temperature: float
    max_tokens: int
    provider_api_key: str | None
    embedding_model: str | None  # None: the server's embedding model
    chunk_tokens: int
    chunk_overlap_tokens: int
    top_k: int
    min_score: float
    no_answer_text: str
    history_turns: int
    default_filter: dict[str, Any] | None = None
    rerank_model: str | None = None  # None: no reranking
    rerank_top_n: int | None = None  # None: the bot's top_k


@dataclass(frozen=True)
class UpdateBotProfile(_Changes):
    """`provider_api_key=None` removes the stored key; `description=None` clears it."""

    name: str | Unset = UNSET
    description: str | None | Unset = UNSET
    system_prompt: str | Unset = UNSET
    model: str | Unset = UNSET
    temperature: float | Unset = UNSET
    max_tokens: int | Unset = UNSET
    provider_api_key: str | None | Unset = UNSET
    is_active: bool | Unset = UNSET  # False: deactivate (as DELETE); True: reactivate
    chunk_tokens: int | Unset = UNSET
    chunk_overlap_tokens: int | Unset = UNSET
    top_k: int | Unset = UNSET
    min_score: float | Unset = UNSET
    no_answer_text: str | Unset = UNSET
    history_turns: int | Unset = UNSET
    default_filter: dict[str, Any] | None | Unset = UNSET  # None removes it
    rerank_model: str | None | Unset = UNSET  # None: stop reranking
    rerank_top_n: int | None | Unset = UNSET  # None: the bot's top_k


# -- sources ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreateSource:
    bot_profile_id: uuid.UUID
    name: str
    source_type: Literal["text", "upload", "url"]
    content: str | None = None  # text sources
    url: str | None = None  # url sources
    filename: str | None = None  # upload sources
    content_type: str | None = None  # upload sources; None: from the extension
    metadata: dict[str, Any] | None = None
    description: str | None = None
    refresh_schedule: Literal["none", "hourly", "daily", "weekly"] = "none"  # url sources


@dataclass(frozen=True)
class UpdateSource(_Changes):
    """`metadata=None` clears the metadata."""

    name: str | Unset = UNSET
    content: str | Unset = UNSET
    url: str | Unset = UNSET
    metadata: dict[str, Any] | None | Unset = UNSET
    description: str | None | Unset = UNSET
    is_active: bool | Unset = UNSET  # False: deactivate (as DELETE); True: reactivate (then ingest again)
    refresh_schedule: Literal["none", "hourly", "daily", "weekly"] | Unset = UNSET


@dataclass(frozen=True)
class ListSources:
    limit: int
    cursor: str | None = None
    bot_profile_id: uuid.UUID | None = None
    status: Literal["pending", "queued", "processing", "ready", "error"] | None = None
    include_inactive: bool = False
    include_children: bool = False  # batch children are listed under their parent unless asked for


@dataclass(frozen=True)
class UploadSource:
    """A file sent in the request itself (multipart), stored like a presigned upload would be."""

    bot_profile_id: uuid.UUID
    name: str
    filename: str
    data: bytes
    content_type: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class BatchChild:
    name: str
    url: str | None = None
    content: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class CreateBatch:
    """A batch: a parent source (a container, no content of its own) and its children, created as one."""

    bot_profile_id: uuid.UUID
    name: str
    source_type: Literal["text", "url"]
    children: tuple[BatchChild, ...]
    description: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class ListPage:
    limit: int
    cursor: str | None = None


# -- chat -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AskBot:
    bot_profile_id: uuid.UUID
    message: str
    chat_id: uuid.UUID | None = None  # None: a new chat
    top_k: int | None = None  # None: the bot's top_k
    # The OpenAI-compatible endpoint's extras (None: the bot's settings / a stored chat's history):
    history: tuple[tuple[str, str], ...] | None = None  # (role, text) earlier turns the caller sends
    instructions: str | None = None  # the caller's system messages, after the bot's own prompt
    temperature: float | None = None
    max_tokens: int | None = None  # at most the bot's
    end_user: str | None = None  # continue this end user's latest chat with the bot (or start it)
    filter: dict[str, Any] | None = None  # a metadata filter, AND-ed with the bot's default_filter
    group_by: Literal["document"] | None = None


@dataclass(frozen=True)
class Retrieve:
    bot_profile_id: uuid.UUID
    query: str
    top_k: int | None = None
    mode: Literal["hybrid", "dense", "sparse"] = "hybrid"
    min_score: float | None = None
    filter: dict[str, Any] | None = None  # a metadata filter (vectorstore/filters.py)
    group_by: Literal["document"] | None = None


# -- chat history (the operator's view) -----------------------------------------------------------

@dataclass(frozen=True)
class ListChats:
    limit: int
    cursor: str | None = None
    bot_profile_id: uuid.UUID | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


@dataclass(frozen=True)
class RateMessage:
    """The whole feedback on an answer: `feedback` None clears it (and its comment)."""

    chat_id: uuid.UUID
    message_id: uuid.UUID
    feedback: Literal["positive", "negative"] | None
    comment: str | None = None


# -- stats and export -----------------------------------------------------------------------------

@dataclass(frozen=True)
class StatsWindow:
    """Which UTC days to aggregate: `from`/`to` (inclusive dates) or the last `days` ending today;
    neither: the last 30 days. A bot id narrows it to that bot (a foreign one matches nothing)."""

    start: date | None = None
    end: date | None = None
    days: int | None = None
    bot_profile_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ExportChats:
    """Messages to export: created on the UTC days `start`..`end` (inclusive), of one bot, or of one chat."""

    start: date | None = None
    end: date | None = None
    bot_profile_id: uuid.UUID | None = None
    chat_id: uuid.UUID | None = None
# -- users (team members) -----------------------------------------------------------------------

@dataclass(frozen=True)
class CreateUser:
    email: str
    password: str
    display_name: str | None = None
    role: str = "member"


@dataclass(frozen=True)
class UpdateUser(_Changes):
    display_name: str | None | Unset = UNSET
    role: str | Unset = UNSET
    is_active: bool | Unset = UNSET
